// Package store keeps ШЭП's state in its PostgreSQL schema: the registry, the ACL, the delivery state of
// each message, the hash-chained message log and its checkpoints.
package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/services/shep/internal/checkpoint"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the schema's migrations.
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

// Errors.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("message id already used by this sender")
)

// Store is the schema's queries.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool (working in the shep schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Participant is a registered system.
type Participant struct {
	ID                string
	Title             string
	CertificateSHA256 []byte
	CreatedAt         time.Time
}

// Service is a registered service.
type Service struct {
	ID        string
	Provider  string
	Channel   string
	Version   string
	Region    string
	Endpoint  string
	TimeoutMS int32
}

// PutParticipant inserts or updates a participant.
func (s *Store) PutParticipant(ctx context.Context, p Participant) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO participants (id, title, certificate_sha256) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET title = excluded.title, certificate_sha256 = excluded.certificate_sha256`,
		p.ID, p.Title, p.CertificateSHA256)
	if err != nil {
		return fmt.Errorf("store: put participant: %w", err)
	}
	return nil
}

// Participants lists participants by id.
func (s *Store) Participants(ctx context.Context) ([]Participant, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, title, certificate_sha256, created_at FROM participants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: participants: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Participant])
}

// PutService inserts or updates a service.
func (s *Store) PutService(ctx context.Context, v Service) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO services (id, provider, channel, version, region, endpoint, timeout_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, channel = excluded.channel, version = excluded.version,
			region = excluded.region, endpoint = excluded.endpoint, timeout_ms = excluded.timeout_ms`,
		v.ID, v.Provider, v.Channel, v.Version, v.Region, v.Endpoint, v.TimeoutMS)
	if err != nil {
		return fmt.Errorf("store: put service: %w", err)
	}
	return nil
}

// Services lists services by id.
func (s *Store) Services(ctx context.Context) ([]Service, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, provider, channel, version, region, endpoint, timeout_ms FROM services ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: services: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Service])
}

// Grant allows sender to call service.
func (s *Store) Grant(ctx context.Context, sender, service string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO grants (sender, service_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sender, service)
	if err != nil {
		return fmt.Errorf("store: grant: %w", err)
	}
	return nil
}

// Revoke withdraws a grant.
func (s *Store) Revoke(ctx context.Context, sender, service string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM grants WHERE sender = $1 AND service_id = $2`, sender, service)
	if err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// Grants lists every grant as (sender, service).
func (s *Store) Grants(ctx context.Context) ([][2]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT sender, service_id FROM grants ORDER BY service_id, sender`)
	if err != nil {
		return nil, fmt.Errorf("store: grants: %w", err)
	}
	var out [][2]string
	defer rows.Close()
	for rows.Next() {
		var g [2]string
		if err := rows.Scan(&g[0], &g[1]); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Message is a sent message's delivery state.
type Message struct {
	Sender        string
	MessageID     string
	CorrelationID string
	SessionID     string
	ServiceID     string
	Recipient     string
	State         string
	Code          string
	Reason        string
	UpdatedAt     time.Time
	InSeq         int64
}

// GetMessage returns a message's delivery state.
func (s *Store) GetMessage(ctx context.Context, sender, messageID string) (Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT sender, message_id, correlation_id, session_id, service_id, recipient, state,
		code, reason, updated_at, in_seq FROM messages WHERE sender = $1 AND message_id = $2`, sender, messageID)
	if err != nil {
		return Message{}, fmt.Errorf("store: message: %w", err)
	}
	m, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Message])
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	return m, err
}

// LogRecord is one entry of the message log.
type LogRecord struct {
	Seq            int64
	At             time.Time
	Channel        string
	Event          string
	Sender         string
	Recipient      string
	ServiceID      string
	MessageID      string
	SessionID      string
	MessageType    string
	Code           string
	Reason         string
	EnvelopeSHA256 []byte
	PayloadSHA256  []byte
	PrevHash       []byte
	Hash           []byte
}

// digest is the record's hash: SHA-256 over the previous hash and every field, each length-prefixed.
func (r *LogRecord) digest() []byte {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put(r.PrevHash)
	binary.BigEndian.PutUint64(n[:], uint64(r.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.At.UTC().UnixMicro()))
	h.Write(n[:])
	for _, s := range []string{r.Channel, r.Event, r.Sender, r.Recipient, r.ServiceID, r.MessageID, r.SessionID, r.MessageType, r.Code, r.Reason} {
		put([]byte(s))
	}
	put(r.EnvelopeSHA256)
	put(r.PayloadSHA256)
	return h.Sum(nil)
}

// genesis is the previous hash of the first record.
var genesis = make([]byte, 32)

// Head is the last record of the log: the link the next record takes.
type Head struct {
	Seq  int64
	Hash []byte
}

// LockHead takes the log's advisory lock for the rest of tx and returns its head: appends are
// serialised, so the chain has one head.
func LockHead(ctx context.Context, tx pgx.Tx) (Head, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('shep.message_log'))`); err != nil {
		return Head{}, fmt.Errorf("store: log lock: %w", err)
	}
	h := Head{Hash: genesis}
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM message_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Head{}, fmt.Errorf("store: log head: %w", err)
	}
	return h, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Verification is the outcome of walking the chain.
type Verification struct {
	Records int64
	// LastSeq is the last record's sequence.
	LastSeq     int64
	FirstBroken int64
	Problem     string
}

// Anchor is a checkpoint already verified (signature and time-stamp): the chain must have Head at Seq.
type Anchor struct {
	Number, Seq int64
	Head        []byte
	At          time.Time
}

// VerifyLog walks the whole log in order and reports the first record whose link or hash does not
// hold, or where the chain leaves an anchor: a record at an anchor's sequence with another hash (rows
// rewritten and the hashes after them recomputed), or a log that ends before an anchor's sequence
// (rows cut from its end). anchors are in order of sequence.
func (s *Store) VerifyLog(ctx context.Context, anchors []Anchor) (Verification, error) {
	var v Verification
	err := pgdb.InTxOptions(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq, at, channel, event, sender, recipient, service_id, message_id, session_id,
			message_type, code, reason, envelope_sha256, payload_sha256, prev_hash, hash FROM message_log ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		prev, want := genesis, int64(1)
		next, anchoredTo := 0, int64(0)
		for rows.Next() {
			var r LogRecord
			if err := rows.Scan(&r.Seq, &r.At, &r.Channel, &r.Event, &r.Sender, &r.Recipient, &r.ServiceID, &r.MessageID,
				&r.SessionID, &r.MessageType, &r.Code, &r.Reason, &r.EnvelopeSHA256, &r.PayloadSHA256, &r.PrevHash, &r.Hash); err != nil {
				return err
			}
			v.Records++
			v.LastSeq = r.Seq
			switch {
			case r.Seq != want:
				v.FirstBroken, v.Problem = r.Seq, fmt.Sprintf("record %d missing (found %d next)", want, r.Seq)
			case string(r.PrevHash) != string(prev):
				v.FirstBroken, v.Problem = r.Seq, "its link to the previous record is broken"
			case string(r.digest()) != string(r.Hash):
				v.FirstBroken, v.Problem = r.Seq, "its contents do not match its hash"
			case next < len(anchors) && anchors[next].Seq == r.Seq && string(anchors[next].Head) != string(r.Hash):
				a := anchors[next]
				v.FirstBroken, v.Problem = r.Seq, fmt.Sprintf("chain differs from checkpoint %d of %s at sequence %d; rows in (%d, %d] altered",
					a.Number, a.At.UTC().Format(time.RFC3339), a.Seq, anchoredTo, a.Seq)
			}
			if v.FirstBroken != 0 {
				return nil
			}
			for next < len(anchors) && anchors[next].Seq <= r.Seq {
				anchoredTo = anchors[next].Seq
				next++
			}
			prev, want = r.Hash, r.Seq+1
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if next < len(anchors) {
			a := anchors[len(anchors)-1]
			v.FirstBroken, v.Problem = v.LastSeq+1, fmt.Sprintf("rows %d..%d missing: checkpoint %d of %s covers them, the log ends at %d",
				v.LastSeq+1, a.Seq, a.Number, a.At.UTC().Format(time.RFC3339), v.LastSeq)
		}
		return nil
	})
	return v, err
}

// LogHead is the last record written (no lock: for checkpoints, which need a committed head only).
func (s *Store) LogHead(ctx context.Context) (Head, error) {
	h := Head{Hash: genesis}
	err := s.pool.QueryRow(ctx, `SELECT seq, hash FROM message_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Seq, &h.Hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Head{}, fmt.Errorf("store: log head: %w", err)
	}
	return h, nil
}

const checkpointColumns = `number, seq, head, prev_digest, at, signature, timestamp_token`

func scanCheckpoint(row pgx.Row) (checkpoint.Checkpoint, error) {
	var c checkpoint.Checkpoint
	err := row.Scan(&c.Number, &c.Seq, &c.Head, &c.PrevDigest, &c.At, &c.Signature, &c.Token)
	return c, err
}

// LastCheckpoint returns the newest checkpoint; ErrNotFound when there is none.
func (s *Store) LastCheckpoint(ctx context.Context) (checkpoint.Checkpoint, error) {
	c, err := scanCheckpoint(s.pool.QueryRow(ctx, `SELECT `+checkpointColumns+` FROM log_checkpoints ORDER BY number DESC LIMIT 1`))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: last checkpoint: %w", err)
	}
	return c, nil
}

// Checkpoints lists every checkpoint by number.
func (s *Store) Checkpoints(ctx context.Context) ([]checkpoint.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+checkpointColumns+` FROM log_checkpoints ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("store: checkpoints: %w", err)
	}
	defer rows.Close()
	var out []checkpoint.Checkpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("store: checkpoints: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ErrCheckpointTaken is returned when another replica made the checkpoint of that number first.
var ErrCheckpointTaken = errors.New("store: checkpoint number already taken")

// InsertCheckpoint stores a sealed checkpoint.
func (s *Store) InsertCheckpoint(ctx context.Context, c checkpoint.Checkpoint) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO log_checkpoints (`+checkpointColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (number) DO NOTHING`, c.Number, c.Seq, c.Head, c.PrevDigest, c.At, c.Signature, c.Token)
	if err != nil {
		return fmt.Errorf("store: insert checkpoint: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrCheckpointTaken
	}
	return nil
}

// InterruptedCalls are the sync calls still «в доставке» (ON_DELIVERY) although their service's
// timeout and grace have passed since they were admitted (at now): the replica that forwarded them
// stopped before it recorded the outcome, or could not record it. Sync calls are the messages without
// a SHEP_IN sequence.
func (s *Store) InterruptedCalls(ctx context.Context, now time.Time, grace time.Duration) ([]Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.sender, m.message_id, m.correlation_id, m.session_id, m.service_id, m.recipient
		FROM messages m LEFT JOIN services v ON v.id = m.service_id
		WHERE m.state = 'ON_DELIVERY' AND m.in_seq = 0
			AND m.updated_at < $1::timestamptz - make_interval(secs => (coalesce(v.timeout_ms, 0) + $2::bigint) / 1000.0)
		ORDER BY m.updated_at LIMIT 1000`, now, grace.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("store: interrupted calls: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		m := Message{State: "ON_DELIVERY"}
		err := r.Scan(&m.Sender, &m.MessageID, &m.CorrelationID, &m.SessionID, &m.ServiceID, &m.Recipient)
		return m, err
	})
}

// StateChange moves a message to a new delivery state.
type StateChange struct {
	Sender, MessageID, State, Code, Reason string
	At                                     time.Time
	// IgnoreMissing treats an unknown message as done rather than ErrNotFound.
	IgnoreMissing bool
	// From, when set, moves the message only from that state; Unless, when set, only when it is not
	// already in that state. A message the condition keeps where it is gives ErrUnchanged, and its log
	// record is left out: two replicas (or a redelivered copy) racing on one message log one change.
	From, Unless string
}

// ErrUnchanged is returned when a StateChange's From or Unless kept the message where it was.
var ErrUnchanged = errors.New("store: message state unchanged")

// Op is the change to the messages table that goes with a log record, in the same transaction.
type Op struct {
	// Insert records a new message; ErrDuplicate when the sender used its id before.
	Insert *Message
	// Update moves a message to a new state; ErrNotFound when there is no such message.
	Update *StateChange
}

// Queue adds the op's statement to b; Read takes its result in the same order.
func (o Op) Queue(b *pgx.Batch) {
	switch {
	case o.Insert != nil:
		m := o.Insert
		b.Queue(`INSERT INTO messages (sender, message_id, correlation_id, session_id, service_id, recipient,
				state, code, reason, updated_at, in_seq)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (sender, message_id) DO NOTHING`,
			m.Sender, m.MessageID, m.CorrelationID, m.SessionID, m.ServiceID, m.Recipient, m.State, m.Code, m.Reason, m.UpdatedAt, m.InSeq)
	case o.Update != nil:
		u := o.Update
		// The row lock makes a racing second update wait for the first and then test the condition
		// against what the first committed.
		b.Queue(`UPDATE messages SET state = $3, code = $4, reason = $5, updated_at = $6 WHERE sender = $1 AND message_id = $2
				AND ($7 = '' OR state = $7) AND ($8 = '' OR state <> $8)`,
			u.Sender, u.MessageID, u.State, u.Code, u.Reason, u.At, u.From, u.Unless)
	}
}

// Read takes the result of the op's statement.
func (o Op) Read(br pgx.BatchResults) error {
	if o.Insert == nil && o.Update == nil {
		return nil
	}
	tag, err := br.Exec()
	if err != nil {
		return fmt.Errorf("store: message: %w", err)
	}
	if tag.RowsAffected() == 0 {
		switch {
		case o.Insert != nil:
			return ErrDuplicate
		case o.Update.From != "" || o.Update.Unless != "":
			// The callers that set a condition know the message exists (they admitted or read it).
			return ErrUnchanged
		case !o.Update.IgnoreMissing:
			return ErrNotFound
		}
	}
	return nil
}

// QueueAppend links r to head, adds its insert to b, and moves head on.
func QueueAppend(b *pgx.Batch, head *Head, r LogRecord) LogRecord {
	r.Seq, r.PrevHash = head.Seq+1, head.Hash
	r.At = r.At.UTC().Truncate(time.Microsecond)
	r.Hash = r.digest()
	b.Queue(`INSERT INTO message_log (seq, at, channel, event, sender, recipient, service_id, message_id,
			session_id, message_type, code, reason, envelope_sha256, payload_sha256, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		r.Seq, r.At, r.Channel, r.Event, r.Sender, r.Recipient, r.ServiceID, r.MessageID, r.SessionID, r.MessageType,
		r.Code, r.Reason, nonNil(r.EnvelopeSHA256), nonNil(r.PayloadSHA256), r.PrevHash, r.Hash)
	head.Seq, head.Hash = r.Seq, r.Hash
	return r
}
