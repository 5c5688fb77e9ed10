package keypool

import "time"

// Event kinds: the state changes other gemgate instances must learn about.
const (
	EventCool    = "cool"
	EventDisable = "disable"
	EventEnable  = "enable"
	EventMeta    = "meta"
)

// Event is a key state change, published to other instances (see package cluster).
type Event struct {
	Kind   string    `json:"kind"`
	KeyIDs []string  `json:"key_ids"`
	Model  string    `json:"model,omitempty"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
	Meta   *Meta     `json:"meta,omitempty"`
}

// OnEvent registers fn to receive local state changes (not those applied with Apply). fn runs in the
// goroutine that made the change, on the request path: it must not block.
func (p *Pool) OnEvent(fn func(Event)) { p.hook.Store(&fn) }

func (p *Pool) emit(ev Event) {
	if fn := p.hook.Load(); fn != nil {
		(*fn)(ev)
	}
}

// Apply makes a change another instance published, without publishing it again. Unknown key IDs are
// ignored: the other instance may already know a key this one has not loaded yet.
func (p *Pool) Apply(ev Event) {
	for _, id := range ev.KeyIDs {
		k, ok := p.LookupID(id)
		if !ok {
			continue
		}
		switch ev.Kind {
		case EventCool:
			p.coolDown(k, ev.Model, ev.Until, ev.Reason)
		case EventDisable:
			p.setDisabled(k, true, ev.Reason)
		case EventEnable:
			p.enable(k)
		}
	}
	if ev.Kind == EventMeta && ev.Meta != nil {
		var keys []*Key
		for _, id := range ev.KeyIDs {
			if k, ok := p.LookupID(id); ok {
				keys = append(keys, k)
			}
		}
		p.setMeta(keys, *ev.Meta)
	}
}
