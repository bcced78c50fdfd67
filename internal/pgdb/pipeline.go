package pgdb

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InTxPipelined is InTx for transactions that mostly write: the transaction fn gets does not send an
// Exec at once but queues it, and sends the queue in one round trip (a pipeline, as pgx.Batch does)
// before the next Query, QueryRow, SendBatch or CopyFrom and before the commit. A case step that writes
// its history, its outbox row, its timers and the case itself so costs one round trip instead of one
// per statement.
//
// The price: Exec returns an empty command tag and no error; a queued statement's error comes out of
// the next read or of InTxPipelined itself, and the transaction is rolled back as with InTx. A caller
// that needs an Exec's rows affected or its error on the spot (to branch on a unique violation, say)
// uses InTx.
func InTxPipelined(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return InTx(ctx, pool, func(tx pgx.Tx) error {
		p := &pipelinedTx{Tx: tx}
		if err := fn(p); err != nil {
			return err
		}
		return p.flush(ctx)
	})
}

type pipelinedTx struct {
	pgx.Tx
	queue pgx.Batch
}

func (t *pipelinedTx) flush(ctx context.Context) error {
	if t.queue.Len() == 0 {
		return nil
	}
	b := t.queue
	t.queue = pgx.Batch{}
	return t.Tx.SendBatch(ctx, &b).Close()
}

func (t *pipelinedTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t.queue.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (t *pipelinedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.Query(ctx, sql, args...)
}

func (t *pipelinedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.flush(ctx); err != nil {
		return errRow{err}
	}
	return t.Tx.QueryRow(ctx, sql, args...)
}

func (t *pipelinedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.flush(ctx); err != nil {
		return errBatch{err}
	}
	return t.Tx.SendBatch(ctx, b)
}

func (t *pipelinedTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.flush(ctx); err != nil {
		return 0, err
	}
	return t.Tx.CopyFrom(ctx, table, columns, src)
}

func (t *pipelinedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.Begin(ctx)
}

func (t *pipelinedTx) Commit(ctx context.Context) error {
	if err := t.flush(ctx); err != nil {
		return err
	}
	return t.Tx.Commit(ctx)
}

// errBatch is the results of a batch not sent because the queue before it failed.
type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow(b) }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
