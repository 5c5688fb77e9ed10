// Package cluster lets several gemgate instances behind one load balancer act as one: key state changes
// (cooldowns, disabled and re-enabled keys, tags) and saved settings are published on Redis and applied
// by every other instance, typically within milliseconds. The database stays the durable copy; Redis
// only carries the news.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
)

// message is what travels on the channel.
type message struct {
	From     string               `json:"from"`
	Pool     string               `json:"pool,omitempty"` // "" for the Gemini keys, else a name given to AddPool
	Key      *keypool.Event       `json:"key,omitempty"`
	Settings bool                 `json:"settings,omitempty"`
	Usage    []keypool.UsageDelta `json:"usage,omitempty"` // requests counted against KEY_MODEL_LIMITS
}

// usageEvery is how often an instance tells the others how many requests it counted per key and model:
// often enough that the per-minute caps hold across instances, in one message whatever the traffic.
const usageEvery = time.Second

// Cluster connects one instance to the others.
type Cluster struct {
	rdb      *redis.Client
	channel  string
	id       string
	pool     *keypool.Pool
	pools    sync.Map // name -> *keypool.Pool: further pools (AddPool)
	settings *config.Manager
	logger   *slog.Logger

	out       chan message
	reloading atomic.Bool
	wg        sync.WaitGroup
	cancel    context.CancelFunc
	ready     chan struct{}
}

// outBuffer bounds unsent messages; when Redis is slow the oldest news is dropped rather than ever
// blocking a request (the database still has the state).
const outBuffer = 4096

// New connects to Redis and starts publishing and subscribing. It returns once the subscription is
// live, so that nothing published after New returns is missed.
func New(ctx context.Context, url, prefix string, pool *keypool.Pool, settings *config.Manager, logger *slog.Logger) (*Cluster, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connecting to Redis at %s: %w", opts.Addr, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	c := &Cluster{rdb: rdb, channel: prefix + ":events", id: hex.EncodeToString(b[:]), pool: pool, settings: settings,
		logger: logger, out: make(chan message, outBuffer), ready: make(chan struct{})}
	runCtx, runCancel := context.WithCancel(context.Background())
	c.cancel = runCancel
	c.wg.Add(3)
	go c.subscribe(runCtx)
	go c.publish(runCtx)
	go c.shareUsage(runCtx)
	select {
	case <-c.ready:
	case <-time.After(5 * time.Second):
		c.Close()
		return nil, fmt.Errorf("subscribing to Redis channel %s timed out", c.channel)
	}
	pool.OnEvent(func(ev keypool.Event) { c.send(message{Key: &ev}) })
	settings.OnChange(func(_, _ *config.Snapshot) {
		if !c.reloading.Load() {
			c.send(message{Settings: true})
		}
	})
	return c, nil
}

// shareUsage publishes this instance's request counts every usageEvery.
func (c *Cluster) shareUsage(ctx context.Context) {
	defer c.wg.Done()
	c.pool.ShareUsage(true)
	defer c.pool.ShareUsage(false)
	t := time.NewTicker(usageEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if d := c.pool.TakeUsage(); len(d) > 0 {
				c.send(message{Usage: d})
			}
		}
	}
}

// AddPool shares the state of another key pool (the Vertex AI Express keys) under name.
func (c *Cluster) AddPool(name string, p *keypool.Pool) {
	c.pools.Store(name, p)
	p.OnEvent(func(ev keypool.Event) { c.send(message{Pool: name, Key: &ev}) })
}

// poolNamed is the pool a message is about; nil for a pool this instance does not have.
func (c *Cluster) poolNamed(name string) *keypool.Pool {
	if name == "" {
		return c.pool
	}
	if p, ok := c.pools.Load(name); ok {
		return p.(*keypool.Pool)
	}
	return nil
}

func (c *Cluster) send(m message) {
	m.From = c.id
	select {
	case c.out <- m:
	default:
		c.logger.Warn("cluster: Redis is not keeping up; a state change was not published")
	}
}

func (c *Cluster) publish(ctx context.Context) {
	defer c.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-c.out:
			body, _ := json.Marshal(m)
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			if err := c.rdb.Publish(pctx, c.channel, body).Err(); err != nil && ctx.Err() == nil {
				c.logger.Warn("cluster: could not publish to Redis", "err", err)
			}
			cancel()
		}
	}
}

// subscribe applies what other instances publish. go-redis re-subscribes by itself after a lost
// connection; news sent meanwhile is missed, and the periodic settings reload and the database make up
// for it.
func (c *Cluster) subscribe(ctx context.Context) {
	defer c.wg.Done()
	sub := c.rdb.Subscribe(ctx, c.channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err == nil {
		close(c.ready)
	} else {
		c.logger.Warn("cluster: subscribing failed", "err", err)
		return
	}
	ch := sub.Channel()
	for {
		var msg *redis.Message
		select {
		case <-ctx.Done():
			return
		case msg = <-ch:
		}
		if msg == nil {
			return
		}
		var m message
		if json.Unmarshal([]byte(msg.Payload), &m) != nil || m.From == c.id {
			continue
		}
		if p := c.poolNamed(m.Pool); m.Key != nil && p != nil {
			p.Apply(*m.Key)
		}
		if len(m.Usage) > 0 {
			c.pool.AddUsage(m.Usage)
		}
		if m.Settings {
			c.reload(ctx)
		}
	}
}

func (c *Cluster) reload(ctx context.Context) {
	c.reloading.Store(true)
	defer c.reloading.Store(false)
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.settings.Load(lctx); err != nil {
		c.logger.Warn("cluster: reloading settings another instance saved failed", "err", err)
	}
}

// Close stops publishing and subscribing.
func (c *Cluster) Close() error {
	c.cancel()
	err := c.rdb.Close()
	c.wg.Wait()
	return err
}
