package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Get reads a case of region by id.
func Get(ctx context.Context, q Querier, region string, id int64) (*Case, error) {
	return QueryCase(ctx, q, `WHERE id = $1 AND region = $2`, id, region)
}

// ByID reads a case by id, whatever its region.
func ByID(ctx context.Context, q Querier, id int64) (*Case, error) {
	return QueryCase(ctx, q, `WHERE id = $1`, id)
}

// ByApplication reads the case of an application id.
func ByApplication(ctx context.Context, q Querier, applicationID string) (*Case, error) {
	return QueryCase(ctx, q, `WHERE application_id = $1 ORDER BY id LIMIT 1`, applicationID)
}

// History returns a case's events in order.
func History(ctx context.Context, q Querier, id int64) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT seq, at, actor, actor_name, role, action, status, step, note, note_kk FROM case_events
		WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var ev Event
		err := r.Scan(&ev.Seq, &ev.At, &ev.Actor, &ev.ActorName, &ev.Role, &ev.Action, &ev.Status, &ev.Step, &ev.Note, &ev.NoteKK)
		return ev, err
	})
}

// Open lists a region's open cases, the nearest step deadline first.
func Open(ctx context.Context, q Querier, region string, limit int) ([]*Case, error) {
	return QueryCases(ctx, q, `WHERE region = $1 AND closed_at IS NULL ORDER BY step_due_at NULLS LAST, id LIMIT $2`, region, limit)
}

// Closed lists a region's closed cases, the latest first.
func Closed(ctx context.Context, q Querier, region string, limit int) ([]*Case, error) {
	return QueryCases(ctx, q, `WHERE region = $1 AND closed_at IS NOT NULL ORDER BY closed_at DESC, id DESC LIMIT $2`, region, limit)
}

// Rejection is an application refused before registration.
type Rejection struct {
	Sender, MessageID, Region, ServiceCode, ApplicationID, RefusalCode, Detail string
	At                                                                         time.Time
}

// Rejections lists what a region refused at intake, the latest first.
func Rejections(ctx context.Context, q Querier, region string, limit int) ([]Rejection, error) {
	rows, err := q.Query(ctx, `SELECT sender, message_id, region, service_code, application_id, refusal_code, detail, at
		FROM rejections WHERE region = $1 ORDER BY at DESC LIMIT $2`, region, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rejection, error) {
		var x Rejection
		err := r.Scan(&x.Sender, &x.MessageID, &x.Region, &x.ServiceCode, &x.ApplicationID, &x.RefusalCode, &x.Detail, &x.At)
		return x, err
	})
}

// Reject records a refusal at intake, once per envelope; it reports whether the row is new.
func Reject(ctx context.Context, tx pgx.Tx, x Rejection) (bool, error) {
	var tag pgconn.CommandTag
	tag, err := tx.Exec(ctx, `INSERT INTO rejections (sender, message_id, at, region, service_code, application_id, refusal_code, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		x.Sender, x.MessageID, x.At, x.Region, x.ServiceCode, x.ApplicationID, x.RefusalCode, x.Detail)
	return err == nil && tag.RowsAffected() > 0, err
}

// Filled is what registration writes into a case row the numbering made.
type Filled struct {
	ApplicationID, Channel, ReplyTo, CorrelationID, ApplicantIIN, Language string
	PassportVersion                                                        int
	Form                                                                   map[string]string
	Documents                                                              []Document
	// Application is the signed application as received; TraceContext the trace it came in.
	Application  []byte
	TraceContext string
}

// Fill writes the application into the case row id and returns the case.
func Fill(ctx context.Context, tx pgx.Tx, id int64, f Filled) (*Case, error) {
	form, err := json.Marshal(f.Form)
	if err != nil {
		return nil, err
	}
	docs, err := json.Marshal(f.Documents)
	if err != nil {
		return nil, err
	}
	return Scan(tx.QueryRow(ctx, `UPDATE cases SET application_id = $2, channel = $3, reply_to = $4, correlation_id = $5,
		applicant_iin = $6, language = $7, passport_version = $8, form = $9, documents = $10, application = $11, trace_context = $12
		WHERE id = $1 RETURNING `+Columns,
		id, f.ApplicationID, f.Channel, f.ReplyTo, f.CorrelationID, f.ApplicantIIN, f.Language, f.PassportVersion, form, docs,
		f.Application, f.TraceContext))
}

// EmployeeRoles are the roles of an active employee of region; none when there is no such employee.
func EmployeeRoles(ctx context.Context, q Querier, region, iinV string) ([]string, error) {
	var roles []string
	err := q.QueryRow(ctx, `SELECT roles FROM employees WHERE region = $1 AND iin = $2 AND active`, region, iinV).Scan(&roles)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return roles, err
}

// PassportVersion is a passport as a case registered under it saw it.
type PassportVersion struct {
	Code, Region string
	Version      int
	Digest       string
	Body         []byte
	Templates    map[string]string
}

// RecordVersion stores v if its (code, region, version) is new and returns the digest stored for it:
// v's own, or the one an earlier file of the same version had.
func RecordVersion(ctx context.Context, q Querier, v PassportVersion) (string, error) {
	templates, err := json.Marshal(v.Templates)
	if err != nil {
		return "", err
	}
	var digest string
	err = q.QueryRow(ctx, `INSERT INTO passport_versions (code, region, version, digest, body, templates) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (code, region, version) DO UPDATE SET code = excluded.code RETURNING digest`,
		v.Code, v.Region, v.Version, v.Digest, v.Body, templates).Scan(&digest)
	if err != nil {
		return "", fmt.Errorf("passport %s/%s version %d: %w", v.Code, v.Region, v.Version, err)
	}
	return digest, nil
}

// Version reads a stored passport version; nil when it was never stored.
func Version(ctx context.Context, q Querier, code, region string, version int) (*PassportVersion, error) {
	v := PassportVersion{Code: code, Region: region, Version: version}
	var templates []byte
	err := q.QueryRow(ctx, `SELECT digest, body, templates FROM passport_versions WHERE code = $1 AND region = $2 AND version = $3`,
		code, region, version).Scan(&v.Digest, &v.Body, &templates)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(templates, &v.Templates); err != nil {
		return nil, fmt.Errorf("passport %s/%s version %d: templates: %w", code, region, version, err)
	}
	return &v, nil
}
