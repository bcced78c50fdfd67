// Package store keeps ИС Е-Астана's waiting lists in PostgreSQL and applies the queue's rules to them.
//
// Every change to a list runs in one transaction that first locks the list's row, so two employees
// releasing places, two replicas allocating and a registration arriving meanwhile take turns, each seeing
// the last one's result: a place is never offered twice, the first fitting child is never passed over for
// a later one, and a queue number is taken from the list's counter in the registering transaction, so it
// is never reused and leaves no gap. A process that dies mid-change leaves nothing: its transaction rolls
// back and the lock goes with its connection. Lists are independent and change in parallel.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

// Store is the waiting lists of one database.
type Store struct {
	pool   *pgxpool.Pool
	policy queue.Policy
	// hook, set only by tests (export_test.go), runs at named points of a transaction: "offered" after each
	// referral is written, "commit" just before the commit. It lets a test hold a transaction open (to
	// force an interleaving) or kill the process in the middle of one.
	hook func(ctx context.Context, point string) error
}

// New returns a store applying policy.
func New(pool *pgxpool.Pool, policy queue.Policy) (*Store, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	return &Store{pool: pool, policy: policy}, nil
}

// Policy is the policy the store applies.
func (s *Store) Policy() queue.Policy { return s.policy }

func (s *Store) at(ctx context.Context, point string) error {
	if s.hook == nil {
		return nil
	}
	return s.hook(ctx, point)
}

// Errors of the store's operations (a refusal of a registration is a *queue.Refusal).
var (
	ErrNoList         = errors.New("eastana: no such waiting list")
	ErrNoGroup        = errors.New("eastana: no such age group")
	ErrNoEntry        = errors.New("eastana: no such child in the list")
	ErrNoOffer        = errors.New("eastana: no such referral")
	ErrOfferNotActive = errors.New("eastana: the referral is no longer valid (enrolled, declined or expired)")
)

// Message is err in the user's language: a refusal's own text, a release's, or the text of one of the
// errors above; ok is false for an error that is not the user's (the database down), which the caller
// reports as a failure to try again.
func Message(err error) (text queue.Text, ok bool) {
	var r *queue.Refusal
	var re *ReleaseError
	switch {
	case errors.As(err, &r):
		return r.Text, true
	case errors.As(err, &re):
		return re.Text(), true
	case errors.Is(err, ErrNoList):
		return queue.Text{RU: "Такой очереди нет: проверьте город и район.", KK: "Мұндай кезек жоқ: қала мен ауданды тексеріңіз."}, true
	case errors.Is(err, ErrNoGroup):
		return queue.Text{RU: "Такой возрастной группы нет в ДДО.", KK: "МЖҰ-да мұндай жас тобы жоқ."}, true
	case errors.Is(err, ErrNoEntry):
		return queue.Text{RU: "Ребёнок не стоит в очереди.", KK: "Бала кезекте тұрған жоқ."}, true
	case errors.Is(err, ErrNoOffer):
		return queue.Text{RU: "Такого направления нет.", KK: "Мұндай жолдама жоқ."}, true
	case errors.Is(err, ErrOfferNotActive):
		return queue.Text{
			RU: "Направление больше не действует: оно уже зарегистрировано в ДДО, от него отказались или истёк месяц его действия.",
			KK: "Жолдама енді жарамсыз: ол МЖҰ-да тіркелген, одан бас тартылған немесе оның бір айлық мерзімі өткен.",
		}, true
	}
	return queue.Text{}, false
}

// ReleaseError says a release asked for more places than the group has occupied.
type ReleaseError struct {
	Asked, Occupied int
}

func (e *ReleaseError) Error() string {
	return fmt.Sprintf("eastana: cannot release %d places: the group has %d occupied", e.Asked, e.Occupied)
}

// Text is the error in the employee's language.
func (e *ReleaseError) Text() queue.Text {
	return queue.Text{
		RU: fmt.Sprintf("Нельзя освободить %d мест(а): в группе занято только %d.", e.Asked, e.Occupied),
		KK: fmt.Sprintf("%d орынды босату мүмкін емес: топта тек %d орын бос емес.", e.Asked, e.Occupied),
	}
}

// Group is an age group of a kindergarten: children aged [AgeFrom, AgeTo) full years, Capacity places,
// Free of them free when the group is added.
type Group struct {
	ID             int64
	AgeFrom, AgeTo int
	Capacity, Free int
}

// Kindergarten is a ДДО of a list.
type Kindergarten struct {
	ID     string
	ListID string
	Name   queue.Text
	Groups []Group
}

// AddList creates a waiting list (the city's, or a district's); adding an existing one is a no-op.
func (s *Store) AddList(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("eastana: a list needs an id")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO lists (id) VALUES ($1) ON CONFLICT DO NOTHING`, id)
	return err
}

// AddKindergarten adds a kindergarten with its groups and their places, and returns the groups' ids in
// order. Free places are offered at once to the children waiting.
func (s *Store) AddKindergarten(ctx context.Context, k Kindergarten, by string, now time.Time) ([]int64, []Offer, error) {
	if k.ID == "" || k.Name.RU == "" || k.Name.KK == "" || len(k.Groups) == 0 {
		return nil, nil, errors.New("eastana: a kindergarten needs an id, names in both languages and groups")
	}
	var ids []int64
	var offers []Offer
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		ids, offers = nil, nil
		if err := lockList(ctx, tx, k.ListID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kindergartens (id, list_id, name_ru, name_kk) VALUES ($1, $2, $3, $4)`,
			k.ID, k.ListID, k.Name.RU, k.Name.KK); err != nil {
			return fmt.Errorf("eastana: add kindergarten %s: %w", k.ID, err)
		}
		for _, g := range k.Groups {
			if g.Free < 0 || g.Free > g.Capacity {
				return fmt.Errorf("eastana: kindergarten %s: %d free places of %d", k.ID, g.Free, g.Capacity)
			}
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO groups (kindergarten_id, age_from, age_to, capacity) VALUES ($1, $2, $3, $4) RETURNING id`,
				k.ID, g.AgeFrom, g.AgeTo, g.Capacity).Scan(&id); err != nil {
				return fmt.Errorf("eastana: kindergarten %s group %d-%d: %w", k.ID, g.AgeFrom, g.AgeTo, err)
			}
			ids = append(ids, id)
			if _, err := tx.Exec(ctx, `INSERT INTO seats (group_id, list_id, state, freed_at)
				SELECT $1, $2, CASE WHEN i <= $4 THEN 'free' ELSE 'occupied' END, CASE WHEN i <= $4 THEN $5::timestamptz END
				FROM generate_series(1, $3) AS i`, id, k.ListID, g.Capacity, g.Free, now); err != nil {
				return err
			}
		}
		var err error
		if offers, err = s.allocate(ctx, tx, k.ListID, by, now); err != nil {
			return err
		}
		return s.at(ctx, "commit")
	})
	return ids, offers, err
}

// lockList takes the list's lock for the rest of the transaction.
func lockList(ctx context.Context, tx pgx.Tx, listID string) error {
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM lists WHERE id = $1 FOR UPDATE`, listID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %q", ErrNoList, listID)
	}
	return err
}

// Registration is an application to put a child in a list.
type Registration struct {
	ListID       string
	ApplicantIIN string
	// Child is the child as ГБД ФЛ has it; nil when the register has no such child.
	Child *queue.Child
	// Category is a priority category of the policy, or empty for the general list.
	Category string
	// Channel is where the application came from: eastana, portal, tson or office (МИО).
	Channel string
	// Record, when set, runs in the registering transaction before its commit with the result and, while
	// the child waits, how many children of its kind are ahead: what the service keeps of the application
	// (and its notification) commits with the number or not at all. An error rolls the registration back.
	Record func(ctx context.Context, tx pgx.Tx, res Result, ahead int64) error
}

// Entry is a child in a list.
type Entry struct {
	ID           int64
	ListID       string
	Number       int64
	ChildIIN     string
	BirthDate    time.Time
	ApplicantIIN string
	Category     string
	Kind         queue.Kind
	Channel      string
	RegisteredAt time.Time
	State        string
}

// Offer is a referral: a place offered to a child.
type Offer struct {
	ID        int64
	SeatID    int64
	EntryID   int64
	Number    int64
	ChildIIN  string
	OfferedAt time.Time
	ExpiresAt time.Time
	State     string
}

// Result is the outcome of a registration: the child's entry, and its referral when a fitting place was
// free (the regulation's referral); without one the entry's number is the registration ticket's.
type Result struct {
	Entry    Entry
	Referral *Offer
}

// Register puts a child in a list at now, after the policy's checks (a refusal is a *queue.Refusal), and
// offers it a place at once when one that fits is free and no child before it fits.
func (s *Store) Register(ctx context.Context, r Registration, now time.Time) (Result, error) {
	if err := s.policy.CheckRegistration(r.Child, r.ApplicantIIN, r.Category, now); err != nil {
		return Result{}, err
	}
	if r.Channel == "" {
		return Result{}, errors.New("eastana: a registration needs its channel")
	}
	var res Result
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		res = Result{}
		e := Entry{ListID: r.ListID, ChildIIN: r.Child.IIN, BirthDate: r.Child.BirthDate, ApplicantIIN: r.ApplicantIIN,
			Category: r.Category, Kind: s.policy.KindOf(r.Category), Channel: r.Channel, RegisteredAt: now, State: "waiting"}
		// One statement, one round trip: the counter's update (the list's lock and the number), the entry,
		// its event and its block's count. ON CONFLICT on the one-child index: a child already waiting or
		// holding a referral is refused, and the transaction (and so the number) rolls back.
		var number, id *int64
		err := tx.QueryRow(ctx, `WITH n AS (UPDATE lists SET next_number = next_number + 1 WHERE id = $1 RETURNING next_number - 1 AS number),
				e AS (INSERT INTO entries (list_id, number, child_iin, birth_date, applicant_iin, category, kind, channel, registered_at, state)
					SELECT $1, n.number, $2, $3, $4, $5, $6, $7, $8, 'waiting' FROM n
					ON CONFLICT (child_iin) WHERE state IN ('waiting', 'offered') DO NOTHING RETURNING id, number),
				ev AS (INSERT INTO events (entry_id, at, kind) SELECT id, $8, 'registered' FROM e),
				b AS (INSERT INTO waiting_blocks (list_id, kind, block, waiting) SELECT $1, $6, number / $9, 1 FROM e
					ON CONFLICT (list_id, kind, block) DO UPDATE SET waiting = waiting_blocks.waiting + 1)
			SELECT (SELECT number FROM n), (SELECT id FROM e)`,
			e.ListID, e.ChildIIN, e.BirthDate, e.ApplicantIIN, e.Category, string(e.Kind), e.Channel, now, int64(Block)).Scan(&number, &id)
		switch {
		case err != nil:
			return err
		case number == nil:
			return fmt.Errorf("%w: %q", ErrNoList, r.ListID)
		case id == nil:
			return queue.RefuseAlreadyListed
		}
		e.Number, e.ID = *number, *id
		offers, err := s.allocate(ctx, tx, r.ListID, "registration", now)
		if err != nil {
			return err
		}
		for i := range offers {
			if offers[i].EntryID == e.ID {
				e.State = "offered"
				res.Referral = &offers[i]
			}
		}
		res.Entry = e
		if r.Record != nil {
			var ahead int64
			if res.Referral == nil {
				p, err := position(ctx, tx, e.ID)
				if err != nil {
					return err
				}
				ahead = p.Ahead
			}
			if err := r.Record(ctx, tx, res, ahead); err != nil {
				return err
			}
		}
		return s.at(ctx, "commit")
	})
	return res, err
}

func event(ctx context.Context, tx pgx.Tx, entryID int64, at time.Time, kind string, offerID *int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO events (entry_id, at, kind, offer_id) VALUES ($1, $2, $3, $4)`, entryID, at, kind, offerID)
	return err
}

// Release frees n occupied places of a group (children left the kindergarten) at now, on behalf of the
// employee by, and offers them to the first fitting children. Asking for more places than are occupied
// is a *ReleaseError and changes nothing.
func (s *Store) Release(ctx context.Context, groupID int64, n int, by string, now time.Time) ([]Offer, error) {
	if n <= 0 {
		return nil, &ReleaseError{Asked: n}
	}
	var offers []Offer
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var listID string
		err := tx.QueryRow(ctx, `SELECT k.list_id FROM groups g JOIN kindergartens k ON k.id = g.kindergarten_id WHERE g.id = $1`, groupID).Scan(&listID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrNoGroup, groupID)
		}
		if err != nil {
			return err
		}
		if err := lockList(ctx, tx, listID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE seats SET state = 'free', freed_at = $3 WHERE id IN (
			SELECT id FROM seats WHERE group_id = $1 AND state = 'occupied' ORDER BY id LIMIT $2)`, groupID, n, now)
		if err != nil {
			return err
		}
		if int(tag.RowsAffected()) < n {
			return &ReleaseError{Asked: n, Occupied: int(tag.RowsAffected())}
		}
		if offers, err = s.allocate(ctx, tx, listID, by, now); err != nil {
			return err
		}
		return s.at(ctx, "commit")
	})
	if err != nil {
		return nil, err
	}
	return offers, nil
}

// Allocate offers every free place of a list that fits a waiting child, by the policy's order, at now.
// Release and Register allocate by themselves; this is for places left free because no child fitted then
// (a child since registered, or grown into the group's age).
func (s *Store) Allocate(ctx context.Context, listID, by string, now time.Time) ([]Offer, error) {
	var offers []Offer
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockList(ctx, tx, listID); err != nil {
			return err
		}
		var err error
		if offers, err = s.allocate(ctx, tx, listID, by, now); err != nil {
			return err
		}
		return s.at(ctx, "commit")
	})
	return offers, err
}

type freeSeat struct {
	id             int64
	ageFrom, ageTo int
}

// allocate offers the list's free places, earliest freed first, each to the child the policy picks among
// the first waiting child of each kind whose age fits. The caller holds the list's lock.
func (s *Store) allocate(ctx context.Context, tx pgx.Tx, listID, by string, now time.Time) ([]Offer, error) {
	rows, err := tx.Query(ctx, `SELECT s.id, g.age_from, g.age_to FROM seats s JOIN groups g ON g.id = s.group_id
		WHERE s.list_id = $1 AND s.state = 'free' ORDER BY s.freed_at, s.id`, listID)
	if err != nil {
		return nil, err
	}
	seats, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (freeSeat, error) {
		var f freeSeat
		return f, r.Scan(&f.id, &f.ageFrom, &f.ageTo)
	})
	if err != nil || len(seats) == 0 {
		return nil, err
	}
	var turn queue.Turn
	if err := tx.QueryRow(ctx, `SELECT general_since_primary FROM lists WHERE id = $1`, listID).Scan(&turn.GeneralSincePrimary); err != nil {
		return nil, err
	}
	kinds := []queue.Kind{queue.KindGeneral}
	if len(s.policy.Categories) > 0 {
		kinds = []queue.Kind{queue.KindExtraordinary, queue.KindPrimary, queue.KindGeneral}
	}
	var offers []Offer
	// The children leaving waiting are counted out of their blocks once at the end: updating one row a
	// thousand times in a transaction leaves a chain of versions each update walks.
	type blockKey struct {
		kind  queue.Kind
		block int64
	}
	left := map[blockKey]int{}
	heads := make(map[queue.Kind]*candidates, len(kinds))
	for _, k := range kinds {
		c, err := loadCandidates(ctx, tx, listID, k, 8*len(seats)+100)
		if err != nil {
			return nil, err
		}
		heads[k] = c
	}
	for _, seat := range seats {
		after, through := queue.BornBetween(seat.ageFrom, seat.ageTo, now)
		var h queue.Heads
		for _, k := range kinds {
			id, ok, err := heads[k].first(ctx, tx, listID, k, after, through)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			switch k {
			case queue.KindExtraordinary:
				h.Extraordinary = &id
			case queue.KindPrimary:
				h.Primary = &id
			default:
				h.General = &id
			}
		}
		entryID, kind, next, ok := s.policy.Pick(h, turn)
		if !ok {
			continue
		}
		turn = next
		heads[kind].take(entryID)
		o := Offer{SeatID: seat.id, EntryID: entryID, OfferedAt: now, ExpiresAt: s.policy.ReferralExpiry(now), State: "offered"}
		// One statement, one round trip: the child leaves waiting, the referral, the place, the event.
		var placed int
		if err := tx.QueryRow(ctx, `WITH e AS (UPDATE entries SET state = 'offered' WHERE id = $2 AND state = 'waiting' RETURNING id, number, child_iin),
				o AS (INSERT INTO offers (seat_id, entry_id, offered_at, expires_at, state, offered_by)
					SELECT $1, e.id, $3, $4, 'offered', $5 FROM e RETURNING id, entry_id),
				p AS (UPDATE seats SET state = 'offered' WHERE id = $1 AND state = 'free' RETURNING id),
				ev AS (INSERT INTO events (entry_id, at, kind, offer_id) SELECT o.entry_id, $3, 'offered', o.id FROM o)
			SELECT o.id, e.number, e.child_iin, (SELECT count(*) FROM p) FROM o JOIN e ON e.id = o.entry_id`,
			o.SeatID, o.EntryID, o.OfferedAt, o.ExpiresAt, by).Scan(&o.ID, &o.Number, &o.ChildIIN, &placed); err != nil {
			return nil, fmt.Errorf("eastana: offer place %d: %w", seat.id, err)
		}
		if placed != 1 {
			return nil, fmt.Errorf("eastana: place %d is no longer free", seat.id)
		}
		left[blockKey{kind, o.Number / Block}]++
		offers = append(offers, o)
		if err := s.at(ctx, "offered"); err != nil {
			return nil, err
		}
	}
	for k, n := range left {
		if err := countWaiting(ctx, tx, listID, k.kind, k.block*Block, -n); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE lists SET general_since_primary = $2 WHERE id = $1`, listID, turn.GeneralSincePrimary); err != nil {
		return nil, err
	}
	return offers, nil
}

// candidates are the first waiting children of one kind, in queue-number order, read once per
// allocation: the heads for every place are found among them in memory. (Asked of the index one place at
// a time, each look-up walked past the children the same transaction had already offered places to, whose
// old index entries stay until the transaction ends: a thousand places cost a quarter of a million
// visits.) A place that fits none of them asks the database for the first fitting child after them.
type candidates struct {
	list []candidate
	// complete: every waiting child of the kind is in list.
	complete bool
}

type candidate struct {
	id, number int64
	born       time.Time
	taken      bool
}

func loadCandidates(ctx context.Context, tx pgx.Tx, listID string, kind queue.Kind, limit int) (*candidates, error) {
	rows, err := tx.Query(ctx, `SELECT id, number, birth_date FROM entries WHERE list_id = $1 AND state = 'waiting' AND kind = $2
		ORDER BY number LIMIT $3`, listID, string(kind), limit)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var c candidate
		return c, r.Scan(&c.id, &c.number, &c.born)
	})
	if err != nil {
		return nil, err
	}
	return &candidates{list: list, complete: len(list) < limit}, nil
}

// first is the first child not yet taken born in (after, through]. (The children after list that this
// allocation took are no longer waiting in its own transaction's view.)
func (c *candidates) first(ctx context.Context, tx pgx.Tx, listID string, kind queue.Kind, after, through time.Time) (int64, bool, error) {
	for _, x := range c.list {
		if !x.taken && x.born.After(after) && !x.born.After(through) {
			return x.id, true, nil
		}
	}
	if c.complete {
		return 0, false, nil
	}
	var last int64
	if len(c.list) > 0 {
		last = c.list[len(c.list)-1].number
	}
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM entries WHERE list_id = $1 AND state = 'waiting' AND kind = $2 AND number > $3
		AND birth_date > $4 AND birth_date <= $5 ORDER BY number LIMIT 1`,
		listID, string(kind), last, after, through).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

func (c *candidates) take(id int64) {
	for i := range c.list {
		if c.list[i].id == id {
			c.list[i].taken = true
			return
		}
	}
}

// Enroll records that the parents registered the referral at the kindergarten: the child leaves the list
// and the place is occupied. A referral no longer valid is ErrOfferNotActive.
func (s *Store) Enroll(ctx context.Context, offerID int64, now time.Time) error {
	return s.closeOffer(ctx, offerID, "enrolled", now, func(o Offer) error {
		if !now.Before(o.ExpiresAt) {
			return ErrOfferNotActive
		}
		return nil
	}, nil)
}

// Decline records that the parents declined the referral: the child leaves the list, and the place goes
// to the next fitting child, whose referral is returned.
func (s *Store) Decline(ctx context.Context, offerID int64, by string, now time.Time) ([]Offer, error) {
	var next []Offer
	err := s.closeOffer(ctx, offerID, "declined", now, nil, func(ctx context.Context, tx pgx.Tx, listID string) error {
		var err error
		next, err = s.allocate(ctx, tx, listID, by, now)
		return err
	})
	return next, err
}

// Expire closes the referrals not registered by now (App. 10: within a month) and passes their places on;
// it returns the expired referrals and the new ones. A referral another replica has already closed is
// left alone.
func (s *Store) Expire(ctx context.Context, by string, now time.Time, limit int) (expired, offered []Offer, err error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM offers WHERE state = 'offered' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		var next []Offer
		err := s.closeOffer(ctx, id, "expired", now, func(o Offer) error {
			if now.Before(o.ExpiresAt) {
				return ErrOfferNotActive // extended or re-offered meanwhile: not due
			}
			return nil
		}, func(ctx context.Context, tx pgx.Tx, listID string) error {
			var err error
			next, err = s.allocate(ctx, tx, listID, by, now)
			return err
		})
		if errors.Is(err, ErrOfferNotActive) {
			continue
		}
		if err != nil {
			return expired, offered, err
		}
		expired = append(expired, Offer{ID: id, State: "expired"})
		offered = append(offered, next...)
	}
	return expired, offered, nil
}

// closeOffer moves a live referral to state under its list's lock: the entry follows, the place becomes
// occupied (enrolled) or free; then (when given) after runs in the same transaction.
func (s *Store) closeOffer(ctx context.Context, offerID int64, state string, now time.Time, check func(Offer) error,
	after func(context.Context, pgx.Tx, string) error) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var listID string
		err := tx.QueryRow(ctx, `SELECT e.list_id FROM offers o JOIN entries e ON e.id = o.entry_id WHERE o.id = $1`, offerID).Scan(&listID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrNoOffer, offerID)
		}
		if err != nil {
			return err
		}
		if err := lockList(ctx, tx, listID); err != nil {
			return err
		}
		var o Offer
		if err := tx.QueryRow(ctx, `SELECT id, seat_id, entry_id, expires_at, state FROM offers WHERE id = $1`, offerID).
			Scan(&o.ID, &o.SeatID, &o.EntryID, &o.ExpiresAt, &o.State); err != nil {
			return err
		}
		if o.State != "offered" {
			return ErrOfferNotActive
		}
		if check != nil {
			if err := check(o); err != nil {
				return err
			}
		}
		seat, freedAt := "free", &now
		if state == "enrolled" {
			seat, freedAt = "occupied", nil
		}
		if _, err := tx.Exec(ctx, `UPDATE offers SET state = $2, closed_at = $3 WHERE id = $1`, o.ID, state, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE entries SET state = $2, closed_at = $3 WHERE id = $1`, o.EntryID, state, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE seats SET state = $2, freed_at = $3 WHERE id = $1`, o.SeatID, seat, freedAt); err != nil {
			return err
		}
		if err := event(ctx, tx, o.EntryID, now, state, &o.ID); err != nil {
			return err
		}
		if after != nil {
			if err := after(ctx, tx, listID); err != nil {
				return err
			}
		}
		return s.at(ctx, "commit")
	})
}

// Remove takes a waiting child out of the list (the parents withdrew the application).
func (s *Store) Remove(ctx context.Context, entryID int64, now time.Time) error {
	return pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var listID string
		err := tx.QueryRow(ctx, `SELECT list_id FROM entries WHERE id = $1`, entryID).Scan(&listID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrNoEntry, entryID)
		}
		if err != nil {
			return err
		}
		if err := lockList(ctx, tx, listID); err != nil {
			return err
		}
		var kind string
		var number int64
		err = tx.QueryRow(ctx, `UPDATE entries SET state = 'removed', closed_at = $2 WHERE id = $1 AND state = 'waiting' RETURNING kind, number`,
			entryID, now).Scan(&kind, &number)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d is not waiting", ErrNoEntry, entryID)
		}
		if err != nil {
			return err
		}
		if err := countWaiting(ctx, tx, listID, queue.Kind(kind), number, -1); err != nil {
			return err
		}
		return event(ctx, tx, entryID, now, "removed", nil)
	})
}

// RemoveAgedOut takes out of every list the waiting children who reached the policy's age limit by now
// (recorded as removed), and returns how many.
func (s *Store) RemoveAgedOut(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM lists ORDER BY id`)
	if err != nil {
		return 0, err
	}
	lists, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	// Born on or before this day: the child has turned MaxAgeYears.
	limit, _ := queue.BornBetween(0, s.policy.MaxAgeYears, now)
	total := 0
	for _, listID := range lists {
		removed := 0
		err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			if err := lockList(ctx, tx, listID); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `UPDATE entries SET state = 'removed', closed_at = $3 WHERE list_id = $1 AND state = 'waiting' AND birth_date <= $2
				RETURNING id, kind, number`, listID, limit, now)
			if err != nil {
				return err
			}
			type gone struct {
				id     int64
				kind   string
				number int64
			}
			out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gone, error) {
				var g gone
				return g, r.Scan(&g.id, &g.kind, &g.number)
			})
			if err != nil {
				return err
			}
			type blockKey struct {
				kind  queue.Kind
				block int64
			}
			blocks := map[blockKey]int{}
			for _, g := range out {
				if err := event(ctx, tx, g.id, now, "removed", nil); err != nil {
					return err
				}
				blocks[blockKey{queue.Kind(g.kind), g.number / Block}]++
			}
			for k, n := range blocks {
				if err := countWaiting(ctx, tx, listID, k.kind, k.block*Block, -n); err != nil {
					return err
				}
			}
			removed = len(out)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += removed
	}
	return total, nil
}

// Position is where a waiting child stands: its queue number and how many waiting children of its list
// were registered before it (ahead is 0 for the first).
type Position struct {
	Entry Entry
	Ahead int64
}

// Block is how many queue numbers a row of waiting_blocks counts.
const Block = 1000

// countWaiting adds delta to the waiting children of kind in number's block; the caller holds the list's
// lock.
func countWaiting(ctx context.Context, tx pgx.Tx, listID string, kind queue.Kind, number int64, delta int) error {
	if delta < 0 {
		// A child leaving waiting was counted when it came in: its block's row exists. (An INSERT of a
		// negative count would fail the row's check before ON CONFLICT.)
		tag, err := tx.Exec(ctx, `UPDATE waiting_blocks SET waiting = waiting + $4 WHERE list_id = $1 AND kind = $2 AND block = $3`,
			listID, string(kind), number/Block, delta)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("eastana: no count of waiting children for list %s, block %d", listID, number/Block)
		}
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO waiting_blocks (list_id, kind, block, waiting) VALUES ($1, $2, $3, $4)
		ON CONFLICT (list_id, kind, block) DO UPDATE SET waiting = waiting_blocks.waiting + excluded.waiting`,
		listID, string(kind), number/Block, delta)
	return err
}

// Position returns a child's entry and, while it waits, how many children of its kind are ahead of it
// (the sum of the blocks before its own and a count within its block).
func (s *Store) Position(ctx context.Context, entryID int64) (Position, error) {
	return position(ctx, s.pool, entryID)
}

// PositionIn is Position read in q: a transaction that holds the list's lock reads the place it is about
// to report without a second connection of the pool (which, with every connection held by a transaction
// waiting for the same lock, would never come).
func PositionIn(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, entryID int64) (Position, error) {
	return position(ctx, q, entryID)
}

// position is Position on q: the pool, or a transaction that has just moved the child.
func position(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, entryID int64) (Position, error) {
	var p Position
	e := &p.Entry
	var kind string
	err := q.QueryRow(ctx, `SELECT e.id, e.list_id, e.number, e.child_iin, e.birth_date, e.applicant_iin, e.category, e.kind, e.channel,
			e.registered_at, e.state,
			CASE WHEN e.state = 'waiting' THEN
				(SELECT coalesce(sum(b.waiting), 0) FROM waiting_blocks b WHERE b.list_id = e.list_id AND b.kind = e.kind AND b.block < e.number / $2)
				+ (SELECT count(*) FROM entries w WHERE w.list_id = e.list_id AND w.state = 'waiting' AND w.kind = e.kind
					AND w.number >= (e.number / $2) * $2 AND w.number < e.number)
			ELSE 0 END
		FROM entries e WHERE e.id = $1`, entryID, int64(Block)).
		Scan(&e.ID, &e.ListID, &e.Number, &e.ChildIIN, &e.BirthDate, &e.ApplicantIIN, &e.Category, &kind, &e.Channel, &e.RegisteredAt, &e.State, &p.Ahead)
	if errors.Is(err, pgx.ErrNoRows) {
		return Position{}, fmt.Errorf("%w: %d", ErrNoEntry, entryID)
	}
	e.Kind = queue.Kind(kind)
	return p, err
}

// Event is a change of a child's place in the list.
type Event struct {
	At      time.Time
	Kind    string
	OfferID *int64
}

// Events lists the changes of an entry, oldest first.
func (s *Store) Events(ctx context.Context, entryID int64) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, kind, offer_id FROM events WHERE entry_id = $1 ORDER BY id`, entryID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		return e, r.Scan(&e.At, &e.Kind, &e.OfferID)
	})
}

// RunExpiry closes the referrals past their month every interval until ctx ends, taking "now" from
// clock each round, and passes their places on; onErr is told of every failure. The referrals are rows,
// so a replica that dies loses nothing: the next round (of any replica) finds them still due.
func (s *Store) RunExpiry(ctx context.Context, clock func() time.Time, interval time.Duration, by string, onErr func(error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			expired, _, err := s.Expire(ctx, by, clock(), 100)
			if err != nil && ctx.Err() == nil {
				onErr(err)
			}
			if err != nil || len(expired) < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
