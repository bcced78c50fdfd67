package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/services/shep/internal/store"
)

// The message log has one head, so appends are serialised. Rather than a transaction and a lock per
// envelope, one writer commits the records of many envelopes together (group commit) in a fixed number
// of round trips: lock and read the head; all the message-state statements pipelined; all the log
// inserts pipelined; commit. A caller whose statement finds a replayed message id (or no message) gets
// that error and its record is left out; every caller learns its outcome once the batch has committed.

const (
	maxBatch  = 256
	batchWait = 500 * time.Microsecond
)

type logItem struct {
	rec  store.LogRecord
	op   store.Op
	done chan error
}

// record appends a log record together with op; op's error (store.ErrDuplicate, store.ErrNotFound,
// store.ErrUnchanged) leaves the record out and is returned.
func (g *Gateway) record(ctx context.Context, r store.LogRecord, op store.Op) error {
	it := logItem{rec: r, op: op, done: make(chan error, 1)}
	select {
	case g.logq <- it:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return errors.New("gateway: stopping")
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WriteLog runs the log writer until Close: it outlives the servers and consumers, whose last envelopes
// it still records during an ordered shutdown.
func (g *Gateway) WriteLog(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.writing = true
	g.mu.Unlock()
	defer close(g.stopped)
	for {
		var batch []logItem
		select {
		case <-g.quit:
			return nil
		case it := <-g.logq:
			batch = append(batch, it)
		}
		timer := time.NewTimer(batchWait)
	fill:
		for len(batch) < maxBatch {
			select {
			case it := <-g.logq:
				batch = append(batch, it)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		g.commit(context.WithoutCancel(ctx), batch)
	}
}

func (g *Gateway) commit(ctx context.Context, batch []logItem) {
	results := make([]error, len(batch))
	err := pgdb.InTx(ctx, g.o.Pool, func(tx pgx.Tx) error {
		head, err := store.LockHead(ctx, tx)
		if err != nil {
			return err
		}
		ops := &pgx.Batch{}
		for _, it := range batch {
			it.op.Queue(ops)
		}
		br := tx.SendBatch(ctx, ops)
		for i, it := range batch {
			results[i] = it.op.Read(br)
			if results[i] != nil && !errors.Is(results[i], store.ErrDuplicate) && !errors.Is(results[i], store.ErrNotFound) &&
				!errors.Is(results[i], store.ErrUnchanged) {
				_ = br.Close()
				return results[i]
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		logs := &pgx.Batch{}
		for i, it := range batch {
			if results[i] == nil {
				store.QueueAppend(logs, &head, it.rec)
			}
		}
		return tx.SendBatch(ctx, logs).Close()
	})
	for i, it := range batch {
		if err != nil {
			it.done <- err
		} else {
			it.done <- results[i]
		}
	}
}
