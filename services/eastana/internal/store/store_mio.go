package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

// The reads of the МИО working cabinet (рабочий кабинет сотрудника МИО): the kindergartens with their
// places, the referrals waiting to be registered at a kindergarten, a child's entry by its IIN. They
// take no lock: a page shows the lists as of its read, and every change goes through the locked
// operations above, which see the latest state.

// GroupPlaces is an age group with its places by state.
type GroupPlaces struct {
	Group
	// Occupied, Offered: the places taken by children and those held by a live referral (Group.Free
	// are those no waiting child fits yet).
	Occupied, Offered int
}

// KindergartenPlaces is a kindergarten with its groups' places.
type KindergartenPlaces struct {
	ID     string
	ListID string
	Name   queue.Text
	Groups []GroupPlaces
}

// Kindergartens lists every kindergarten with its age groups and their places, by kindergarten id and
// the groups' ages.
func (s *Store) Kindergartens(ctx context.Context) ([]KindergartenPlaces, error) {
	rows, err := s.pool.Query(ctx, `SELECT k.id, k.list_id, k.name_ru, k.name_kk, g.id, g.age_from, g.age_to, g.capacity,
			count(*) FILTER (WHERE st.state = 'occupied'), count(*) FILTER (WHERE st.state = 'free'), count(*) FILTER (WHERE st.state = 'offered')
		FROM kindergartens k JOIN groups g ON g.kindergarten_id = k.id LEFT JOIN seats st ON st.group_id = g.id
		GROUP BY k.id, g.id ORDER BY k.id, g.age_from, g.age_to, g.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []KindergartenPlaces
	for rows.Next() {
		var k KindergartenPlaces
		var g GroupPlaces
		if err := rows.Scan(&k.ID, &k.ListID, &k.Name.RU, &k.Name.KK, &g.ID, &g.AgeFrom, &g.AgeTo, &g.Capacity,
			&g.Occupied, &g.Free, &g.Offered); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == k.ID {
			out[n-1].Groups = append(out[n-1].Groups, g)
			continue
		}
		k.Groups = []GroupPlaces{g}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Referral is a live referral as the cabinet lists it: the child, its queue number and applicant, the
// place (kindergarten and group), and until when it is valid.
type Referral struct {
	Offer
	ApplicantIIN string
	Kindergarten queue.Text
	GroupID      int64
	AgeFrom      int
	AgeTo        int
}

// Referrals lists the live referrals (offered, not yet enrolled, declined or expired), the ones ending
// soonest first, at most limit.
func (s *Store) Referrals(ctx context.Context, limit int) ([]Referral, error) {
	return s.referrals(ctx, `o.state = 'offered'`, nil, limit)
}

// ReferralsOf lists a child's referrals in every state, the newest first.
func (s *Store) ReferralsOf(ctx context.Context, entryID int64) ([]Referral, error) {
	return s.referrals(ctx, `o.entry_id = $2`, []any{entryID}, 100)
}

func (s *Store) referrals(ctx context.Context, where string, args []any, limit int) ([]Referral, error) {
	order := `o.expires_at, o.id`
	if args != nil {
		order = `o.id DESC`
	}
	rows, err := s.pool.Query(ctx, `SELECT o.id, o.seat_id, o.entry_id, e.number, e.child_iin, o.offered_at, o.expires_at, o.state,
			e.applicant_iin, k.name_ru, k.name_kk, g.id, g.age_from, g.age_to
		FROM offers o JOIN entries e ON e.id = o.entry_id JOIN seats st ON st.id = o.seat_id
			JOIN groups g ON g.id = st.group_id JOIN kindergartens k ON k.id = g.kindergarten_id
		WHERE `+where+` ORDER BY `+order+` LIMIT $1`, append([]any{limit}, args...)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Referral, error) {
		var x Referral
		return x, r.Scan(&x.ID, &x.SeatID, &x.EntryID, &x.Number, &x.ChildIIN, &x.OfferedAt, &x.ExpiresAt, &x.State,
			&x.ApplicantIIN, &x.Kindergarten.RU, &x.Kindergarten.KK, &x.GroupID, &x.AgeFrom, &x.AgeTo)
	})
}

// EntryOfChild is the id of a child's latest entry in any list (waiting, offered or closed): a child
// who declined and registered again has two, and the cabinet shows the one that counts now.
func (s *Store) EntryOfChild(ctx context.Context, childIIN string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM entries WHERE child_iin = $1 ORDER BY registered_at DESC, id DESC LIMIT 1`, childIIN).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w: no entry of the child", ErrNoEntry)
	}
	return id, err
}

// Live reports whether a referral is still to be acted on at now: offered and within its month. (The
// expiry worker closes it a moment after its end; the cabinet does not offer to enrol it meanwhile.)
func (r Referral) Live(now time.Time) bool { return r.State == "offered" && now.Before(r.ExpiresAt) }
