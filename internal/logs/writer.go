package logs

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/secret"
)

// Why an entry was dropped.
const (
	DropBufferFull  = "buffer_full"  // the database fell behind and the buffer was full
	DropWriteFailed = "write_failed" // the batch holding it could not be written
	DropShutdown    = "shutdown"     // it arrived after Close
)

// DropReasons lists the reasons, for metrics.
var DropReasons = []string{DropBufferFull, DropWriteFailed, DropShutdown}

// WriterOptions configure a Writer.
type WriterOptions struct {
	Buffer     int                // entries held while the database catches up (default 20,000)
	BatchSize  int                // entries per transaction (default 5,000)
	FlushEvery time.Duration      // the longest an entry waits for a batch to fill (default 500 ms)
	CountEvery time.Duration      // the longest statistics are held in memory (default 5 s, never below FlushEvery)
	CountRows  int                // the most statistics rows held in memory before the next batch writes them (default 5,000)
	Timeout    time.Duration      // bound of one batch's transaction (default 15 s)
	Mode       func() Mode        // REQUEST_LOG_MODE, read per batch; nil means ModeAll
	Scrub      *secret.Scrubber   // takes keys and tokens out of stored text; nil still catches key shapes
	Logger     *slog.Logger       // warns about failed batches, at most every WarnEvery
	WarnEvery  time.Duration      // default 30 s
	write      func(*batch) error // tests replace the database
}

// Writer is the request log's Sink: Submit never blocks, the batches are written by one goroutine.
type Writer struct {
	opts  WriterOptions
	store *Store
	ch    chan *reqlog.Entry
	flush chan chan struct{}
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once

	closed   atomic.Bool
	inflight atomic.Int64 // Submit calls between their closed check and their send

	dropped     [3]atomic.Uint64 // by DropReasons index
	written     atomic.Uint64    // entries whose batch committed
	requestRows atomic.Uint64
	errorRows   atomic.Uint64
	batches     atomic.Uint64
	lastWarn    time.Time // only the writer goroutine touches it
	unreported  uint64
	// counts are the statistics of the entries written since the last counter flush; only the writer
	// goroutine touches them.
	counts      *counters
	countsSince time.Time
	refusals    refusalLedger
}

// NewWriter starts the writer goroutine; Close stops it after writing what it accepted.
func NewWriter(s *Store, opts WriterOptions) *Writer {
	if opts.Buffer <= 0 {
		opts.Buffer = 10000
	}
	if opts.BatchSize <= 0 {
		// Under load a batch fills long before FlushEvery. Rows of one transaction share index pages and
		// counter rows, so 5,000 rows cost about half as much CPU each as 500 (docs/benchmarks.md).
		opts.BatchSize = 5000
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 500 * time.Millisecond
	}
	if opts.CountEvery <= 0 {
		opts.CountEvery = 5 * time.Second
	}
	opts.CountEvery = max(opts.CountEvery, opts.FlushEvery)
	if opts.CountRows <= 0 {
		// Rows that aggregate stay below it (1,000 keys and two models: about 4,000 key and token rows);
		// with 100,000 keys in rotation almost every request adds a key row and a token row that no later
		// request of the window joins, so holding them longer saves no upsert and only grows the heap:
		// 20,000 rows held were 6.8 MB of the 100,000-key instance's live heap, doubled by the GC's goal.
		opts.CountRows = 5000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.WarnEvery <= 0 {
		opts.WarnEvery = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Writer{opts: opts, store: s, ch: make(chan *reqlog.Entry, opts.Buffer), flush: make(chan chan struct{}),
		quit: make(chan struct{}), done: make(chan struct{})}
	if w.opts.write == nil {
		w.opts.write = func(b *batch) error {
			ctx, cancel := context.WithTimeout(context.Background(), w.opts.Timeout)
			defer cancel()
			return s.write(ctx, b)
		}
	}
	go w.run()
	return w
}

// Submit queues a finished entry. It never blocks: with the buffer full the entry is dropped and counted.
func (w *Writer) Submit(e *reqlog.Entry) {
	w.inflight.Add(1)
	defer w.inflight.Add(-1)
	if e.Unsent() {
		// Counted here, before the buffer, so that a flood of refusals neither fills it nor goes uncounted;
		// only the sampled few go on to become rows.
		snap := e.Snapshot()
		if !w.refusals.note(&snap) {
			return
		}
	}
	if w.closed.Load() {
		w.dropped[2].Add(1)
		return
	}
	select {
	case w.ch <- e:
	default:
		w.dropped[0].Add(1)
	}
}

// Flush waits until every entry submitted before the call has been written (or dropped).
func (w *Writer) Flush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case w.flush <- reply:
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting entries, writes every accepted one and stops the goroutine.
func (w *Writer) Close() {
	w.once.Do(func() {
		w.closed.Store(true)
		// A Submit that saw closed == false may still be about to send; its entry was accepted, so
		// wait for it before the final drain.
		for w.inflight.Load() > 0 {
			time.Sleep(50 * time.Microsecond)
		}
		close(w.quit)
		<-w.done
	})
}

// Stats are the writer's counters since start.
type Stats struct {
	Dropped     map[string]uint64 `json:"dropped"`
	Written     uint64            `json:"written"`
	RequestRows uint64            `json:"request_rows"`
	ErrorRows   uint64            `json:"error_rows"`
	Batches     uint64            `json:"batches"`
	Buffered    int               `json:"buffered"`
	BufferSize  int               `json:"buffer_size"`
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	d := make(map[string]uint64, len(DropReasons))
	for i, r := range DropReasons {
		d[r] = w.dropped[i].Load()
	}
	return Stats{Dropped: d, Written: w.written.Load(), RequestRows: w.requestRows.Load(), ErrorRows: w.errorRows.Load(),
		Batches: w.batches.Load(), Buffered: len(w.ch), BufferSize: cap(w.ch)}
}

// Dropped returns the entries dropped for reason.
func (w *Writer) Dropped(reason string) uint64 {
	for i, r := range DropReasons {
		if r == reason {
			return w.dropped[i].Load()
		}
	}
	return 0
}

func (w *Writer) run() {
	defer close(w.done)
	pending := make([]*reqlog.Entry, 0, w.opts.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	countTimer := time.NewTimer(time.Hour)
	countTimer.Stop()
	write := func(all bool) {
		timer.Stop()
		held := w.counts != nil
		w.write(pending, all)
		clear(pending)
		pending = pending[:0]
		if !held && w.counts != nil {
			countTimer.Reset(w.opts.CountEvery)
		}
	}
	drain := func() {
		for {
			select {
			case e := <-w.ch:
				if pending = append(pending, e); len(pending) >= w.opts.BatchSize {
					write(false)
				}
			default:
				write(true)
				return
			}
		}
	}
	for {
		select {
		case e := <-w.ch:
			pending = append(pending, e)
			if len(pending) == 1 {
				timer.Reset(w.opts.FlushEvery)
			}
			if len(pending) >= w.opts.BatchSize {
				write(false)
			}
		case <-timer.C:
			write(false)
		case <-countTimer.C:
			write(true)
		case reply := <-w.flush:
			drain()
			close(reply)
		case <-w.quit:
			drain()
			return
		}
	}
}

// write turns entries into rows and writes them in one transaction. Their statistics are added to the
// counters held in memory, which join the transaction once CountEvery has passed since the first of
// them, or when all is set (Flush, Close, the CountEvery timer): under load a key's hourly row and its
// daily token row then take one upsert per CountEvery instead of one per batch. Past CountRows held rows
// they go with the batch at once. A crash loses at most CountEvery of statistics; the request-log rows
// are not held back.
func (w *Writer) write(entries []*reqlog.Entry, all bool) {
	if len(entries) == 0 && !w.refusals.hasCounts() && (!all || w.counts == nil) {
		return
	}
	mode := ModeAll
	if w.opts.Mode != nil {
		mode = w.opts.Mode()
	}
	if w.counts == nil {
		w.counts, w.countsSince = w.refusals.takeCounts(), time.Now()
	} else if w.refusals.hasCounts() {
		w.counts.merge(w.refusals.takeCounts())
	}
	b := &batch{}
	for _, e := range entries {
		snap := e.Snapshot()
		if snap.Unsent() {
			countRefusal(w.counts, &snap)
		} else {
			w.counts.add(&snap)
		}
		req, errs := rowsOf(&snap, mode, w.opts.Scrub)
		if req != nil {
			b.requests = append(b.requests, req)
		}
		b.errors = append(b.errors, errs...)
	}
	if all || time.Since(w.countsSince) >= w.opts.CountEvery || w.counts.rows() >= w.opts.CountRows {
		if !w.counts.empty() {
			b.counts = w.counts
		}
		w.counts = nil
	}
	if len(entries) == 0 && b.counts == nil {
		return
	}
	if err := w.opts.write(b); err != nil {
		w.dropped[1].Add(uint64(len(entries)))
		w.warn(len(entries), err)
		return
	}
	w.batches.Add(1)
	w.written.Add(uint64(len(entries)))
	w.requestRows.Add(uint64(len(b.requests)))
	w.errorRows.Add(uint64(len(b.errors)))
}

// warn reports failed batches without flooding the log while the database is down.
func (w *Writer) warn(n int, err error) {
	w.unreported += uint64(n)
	if now := time.Now(); now.Sub(w.lastWarn) >= w.opts.WarnEvery {
		w.opts.Logger.Warn("could not write request logs; the entries are dropped, requests are not affected",
			"entries", w.unreported, "dropped_total", w.dropped[1].Load(), "err", err)
		w.lastWarn, w.unreported = now, 0
	}
}
