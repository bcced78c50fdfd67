// Package store keeps the ГБД ФЛ stub's persons and family links in its PostgreSQL schema, and loads a
// synthetic population with COPY.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"time"

	"github.com/egov-suite/egov/internal/pgdb"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/internal/population"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the schema's migrations.
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

// ErrNotFound means no person has the IIN.
var ErrNotFound = errors.New("no person with that IIN")

// Store is the schema's queries.
type Store struct{ pool *pgxpool.Pool }

// New returns a store on pool (working in the gbdfl schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const personColumns = `p.iin, p.surname, p.name, p.patronymic, p.birth_date, p.birth_place, p.sex, p.citizenship, p.nationality,
	p.region_code, p.district_code, p.address_line, p.doc_kind, p.doc_number, p.doc_issued_on, p.doc_valid_until, p.doc_issuer,
	p.deceased, p.death_date, p.legal_capacity`

func scanPerson(row pgx.Row) (*gbdflv1.Person, error) {
	var p gbdflv1.Person
	var addr gbdflv1.Address
	var doc gbdflv1.IdentityDocument
	var birth time.Time
	var issued, valid, death pgtype.Date
	var sex int16
	if err := row.Scan(&p.Iin, &p.Surname, &p.Name, &p.Patronymic, &birth, &p.BirthPlace, &sex, &p.Citizenship, &p.Nationality,
		&addr.RegionCode, &addr.DistrictCode, &addr.Line, &doc.Kind, &doc.Number, &issued, &valid, &doc.Issuer,
		&p.Deceased, &death, &p.LegalCapacity); err != nil {
		return nil, err
	}
	p.BirthDate, p.Sex, p.Address = birth.Format(time.DateOnly), gbdflv1.Sex(sex), &addr
	doc.IssuedOn, doc.ValidUntil, p.DeathDate = dateString(issued), dateString(valid), dateString(death)
	if doc.Kind != "" {
		p.Document = &doc
	}
	return &p, nil
}

func dateString(d pgtype.Date) string {
	if !d.Valid {
		return ""
	}
	return d.Time.Format(time.DateOnly)
}

// Person returns a person with family links.
func (s *Store) Person(ctx context.Context, iin string) (*gbdflv1.Person, error) {
	p, err := scanPerson(s.pool.QueryRow(ctx, `SELECT `+personColumns+` FROM persons p WHERE p.iin = $1`, iin))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: person: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT f.relation, f.other_iin, o.surname || ' ' || o.name || ' ' || o.patronymic
		FROM family f JOIN persons o ON o.iin = f.other_iin WHERE f.iin = $1 ORDER BY f.relation, o.birth_date`, iin)
	if err != nil {
		return nil, fmt.Errorf("store: family: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l gbdflv1.FamilyLink
		var rel int16
		if err := rows.Scan(&rel, &l.Iin, &l.FullName); err != nil {
			return nil, err
		}
		l.Relation = gbdflv1.Relation(rel)
		p.Family = append(p.Family, &l)
	}
	return p, rows.Err()
}

// Children returns the children and wards of a person, oldest first; ErrNotFound when the person is
// unknown.
func (s *Store) Children(ctx context.Context, iin string) ([]*gbdflv1.Person, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM persons WHERE iin = $1)`, iin).Scan(&exists); err != nil {
		return nil, fmt.Errorf("store: children: %w", err)
	}
	if !exists {
		return nil, ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `SELECT f.other_iin FROM family f JOIN persons p ON p.iin = f.other_iin
		WHERE f.iin = $1 AND f.relation IN (2, 5) ORDER BY p.birth_date, p.iin`, iin)
	if err != nil {
		return nil, fmt.Errorf("store: children: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: children: %w", err)
	}
	out := make([]*gbdflv1.Person, 0, len(ids))
	for _, id := range ids {
		p, err := s.Person(ctx, id) // with the child's own family links
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Count returns how many persons are stored.
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM persons`).Scan(&n)
	return n, err
}

// Load replaces the population with persons from gen, by COPY, in one transaction.
func (s *Store) Load(ctx context.Context, gen iter.Seq2[*gbdflv1.Person, []population.Link]) (persons, links int64, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SET CONSTRAINTS ALL DEFERRED; TRUNCATE family, persons`); err != nil {
		return 0, 0, fmt.Errorf("store: truncate: %w", err)
	}
	var pending []population.Link
	personRows := func(yield func([]any, error) bool) {
		for p, ls := range gen {
			pending = append(pending, ls...)
			if !yield(personRow(p), nil) {
				return
			}
		}
	}
	next, stop := iter.Pull2(personRows)
	defer stop()
	persons, err = tx.CopyFrom(ctx, pgx.Identifier{"persons"}, personCopyColumns, &pullSource{next: next})
	if err != nil {
		return 0, 0, fmt.Errorf("store: copy persons: %w", err)
	}
	links, err = tx.CopyFrom(ctx, pgx.Identifier{"family"}, []string{"iin", "relation", "other_iin"},
		pgx.CopyFromSlice(len(pending), func(i int) ([]any, error) {
			l := pending[i]
			return []any{l.From, int16(l.Relation), l.To}, nil
		}))
	if err != nil {
		return 0, 0, fmt.Errorf("store: copy family: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, err
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE persons; ANALYZE family`); err != nil {
		return 0, 0, err
	}
	return persons, links, nil
}

var personCopyColumns = []string{"iin", "surname", "name", "patronymic", "birth_date", "birth_place", "sex", "citizenship",
	"nationality", "region_code", "district_code", "address_line", "doc_kind", "doc_number", "doc_issued_on", "doc_valid_until",
	"doc_issuer", "deceased", "death_date", "legal_capacity"}

func personRow(p *gbdflv1.Person) []any {
	d := p.GetDocument()
	return []any{p.GetIin(), p.GetSurname(), p.GetName(), p.GetPatronymic(), date(p.GetBirthDate()), p.GetBirthPlace(),
		int16(p.GetSex()), p.GetCitizenship(), p.GetNationality(), p.GetAddress().GetRegionCode(), p.GetAddress().GetDistrictCode(),
		p.GetAddress().GetLine(), d.GetKind(), d.GetNumber(), date(d.GetIssuedOn()), date(d.GetValidUntil()), d.GetIssuer(),
		p.GetDeceased(), date(p.GetDeathDate()), p.GetLegalCapacity()}
}

func date(s string) pgtype.Date {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: t, Valid: true}
}

// pullSource adapts a pulled sequence of rows to pgx.CopyFromSource.
type pullSource struct {
	next func() ([]any, error, bool)
	row  []any
	err  error
}

func (p *pullSource) Next() bool {
	var ok bool
	p.row, p.err, ok = p.next()
	return ok && p.err == nil
}

func (p *pullSource) Values() ([]any, error) { return p.row, p.err }

func (p *pullSource) Err() error { return p.err }
