// Package intake records what ШЭП delivers to a channel: the delivery receipts of its applications and
// РШЭП's status notifications, each once, whatever the number of deliveries, in РШЭП's order, with the
// result document when there is one.
package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/applicant/lifecycle"
	"github.com/egov-suite/egov/internal/applicant/store"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/pgdb"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// Intake records one channel's deliveries.
type Intake struct {
	DB *pgxpool.Pool
	// Tracer names the channel's spans (egov/<channel>).
	Tracer string
	Log    *slog.Logger
	// Adopt (the personal cabinet): a notification of an application this channel did not take (one
	// made at a ЦОН, copied here by РШЭП) puts the application on the list of the applicant the
	// envelope names (its user id, an IIN), with the statuses that follow; nothing of it can be signed
	// or sent from here.
	Adopt bool
	// Received, when set, counts the statuses recorded (each once, repeats not), by channel, service and
	// status: ШЭП's delivery receipts and РШЭП's notifications.
	Received metric.Int64Counter
	// Channel is the channel's name in the metrics (portal, tson).
	Channel string
}

// count records a status recorded, after its transaction committed.
func (in *Intake) count(ctx context.Context, service, status string) {
	if in.Received != nil {
		in.Received.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", in.Channel), attribute.String("service", service),
			attribute.String("status", status)))
	}
}

// Handle records a delivery of ШЭП's.
func (in *Intake) Handle(ctx context.Context, dv *shepsdk.Delivery) error {
	if n := dv.Notification; n != nil {
		return in.receipt(ctx, n)
	}
	e := dv.Envelope
	if e.GetType() != envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION {
		in.Log.WarnContext(ctx, "applications: an envelope that is not a notification is ignored", "message_id", e.GetMessageId(), "type", e.GetType().String())
		return nil
	}
	n := new(applicationv1.StatusNotification)
	if err := proto.Unmarshal(e.GetPayload(), n); err != nil {
		in.Log.WarnContext(ctx, "applications: unreadable notification ignored", "message_id", e.GetMessageId(), "error", err)
		return nil
	}
	owner := ""
	if in.Adopt {
		owner = e.GetUserId()
	}
	return in.record(ctx, n, owner)
}

// receipt records ШЭП's delivery receipt of an application's message.
func (in *Intake) receipt(ctx context.Context, n *shepv1.DeliveryNotification) error {
	status, ok := lifecycle.Delivery(n.GetState())
	if !ok {
		return nil
	}
	var (
		service string
		added   bool
	)
	err := pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		var (
			id  string
			env []byte
		)
		added = false
		err := tx.QueryRow(ctx, `SELECT id, envelope, service_code FROM applications WHERE message_id = $1`, n.GetMessageId()).Scan(&id, &env, &service)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a receipt of another message of this participant
		}
		if err != nil {
			return err
		}
		if why := CopyRefusal(n, env); why != "" {
			in.Log.WarnContext(ctx, "applications: ШЭП refused a copy under the message id of an application; the application stands",
				"application", id, "message_id", n.GetMessageId(), "why", why, "code", n.GetStatus().GetCode())
			return nil
		}
		s := store.Status{Status: status, At: n.GetTime().AsTime(), Seq: lifecycle.SeqDelivered,
			TextRU: "Заявление доставлено услугодателю через ШЭП", TextKK: "Өтініш ЭҮШ арқылы қызмет берушіге жеткізілді"}
		if status == lifecycle.StatusNotDelivered {
			s.TextRU, s.TextKK, s.Comment = "Заявление не доставлено услугодателю", "Өтініш қызмет берушіге жеткізілмеді", n.GetStatus().GetCode()+": "+n.GetStatus().GetMessage()
		}
		added, err = store.AddStatus(ctx, tx, id, "shep:"+status, s)
		return err
	})
	if err == nil && added {
		in.count(ctx, service, status)
	}
	return err
}

// adopt puts an application made at another channel on owner's list, once: its first status to arrive
// creates it (as submitted there, with no content to sign), and the rest are recorded as for any other.
// An owner that is not an IIN adopts nothing.
func (in *Intake) adopt(ctx context.Context, tx pgx.Tx, n *applicationv1.StatusNotification, owner string) error {
	if _, err := iin.Parse(owner); err != nil {
		// Not this channel's to refuse: the notification is recorded (or ignored) as any other.
		in.Log.WarnContext(ctx, "applications: a copied notification names no applicant; not adopted", "application", n.GetApplicationId(),
			"why", err.Error())
		return nil
	}
	var created bool
	err := tx.QueryRow(ctx, `INSERT INTO applications (id, owner, channel, service_code, region, applicant_iin, content, status, created_at, submitted_at)
		VALUES ($1, $2, 'tson', $3, $4, $2, ''::bytea, 'SUBMITTED', $5, $5) ON CONFLICT (id) DO NOTHING RETURNING true`,
		n.GetApplicationId(), owner, n.GetServiceCode(), n.GetRegion(), n.GetTime().AsTime()).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // on the list already
	}
	if err == nil {
		in.Log.InfoContext(ctx, "applications: an application made at a ЦОН put in the applicant's cabinet", "application", n.GetApplicationId(),
			"applicant", iin.Mask(owner))
	}
	return err
}

// CopyRefusal says why a NOT_DELIVERED notice is about a copy of the application's message rather than
// the message itself, or "" when it is about the message. ШЭП refuses a message id used before (the
// channel re-sent the very same message, e.g. after a NATS restart: ШЭП holds the first) and names the
// bytes it refused (a copy with one byte flipped is another message, whoever published it). Neither
// says anything of the message ШЭП accepted, whose own receipts tell its fate.
func CopyRefusal(n *shepv1.DeliveryNotification, env []byte) string {
	if n.GetState() != shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED {
		return ""
	}
	if n.GetStatus().GetCode() == shepv1.CodeDuplicate {
		return "a later copy of a message ШЭП holds"
	}
	if got := n.GetRefusedSha256(); len(got) > 0 {
		want := sha256.Sum256(env)
		if !bytes.Equal(got, want[:]) {
			return "the refused bytes are not the application's"
		}
	}
	return ""
}

// record records a notification; owner, when set, is whose list an application this channel does not
// hold is adopted into (Adopt).
func (in *Intake) record(ctx context.Context, n *applicationv1.StatusNotification, owner string) error {
	status, known := lifecycle.CaseStatus(n.GetStatus())
	if !known {
		// Recorded all the same, with РШЭП's text, so the citizen loses nothing and the list stays
		// complete (it closes only when no sequence is missing); the application's own status stays.
		in.Log.WarnContext(ctx, "applications: a notification with a status this channel does not know", "application", n.GetApplicationId(),
			"status", int32(n.GetStatus()), "sequence", n.GetSequence())
	}
	ctx, span := otel.Tracer(in.Tracer).Start(ctx, "applicant.status", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("egov.application_id", n.GetApplicationId()), attribute.String("egov.status", status)))
	defer span.End()
	var (
		service string
		added   bool
	)
	// Pipelined: the updates after the status row go to the server together with the commit.
	err := pgdb.InTxPipelined(ctx, in.DB, func(tx pgx.Tx) error {
		added = false
		if owner != "" {
			if err := in.adopt(ctx, tx, n, owner); err != nil {
				return err
			}
		}
		var cur string
		err := tx.QueryRow(ctx, `SELECT status, service_code FROM applications WHERE id = $1 FOR UPDATE`, n.GetApplicationId()).Scan(&cur, &service)
		if errors.Is(err, pgx.ErrNoRows) {
			in.Log.WarnContext(ctx, "applications: a notification of an unknown application", "application", n.GetApplicationId(), "status", status)
			return nil
		}
		if err != nil {
			return err
		}
		s := store.Status{Status: status, At: n.GetTime().AsTime(), Seq: int(n.GetSequence()), TextRU: lifecycle.Fill(n.GetText().GetRu(), n),
			TextKK: lifecycle.Fill(n.GetText().GetKk(), n), ReasonRU: n.GetReason().GetRu(), ReasonKK: n.GetReason().GetKk(), Comment: n.GetComment(), CommentKK: n.GetCommentText().GetKk()}
		if ru := n.GetCommentText().GetRu(); ru != "" {
			s.Comment = ru
		}
		// The result documents: result, or for a provider that fills only results (ИС Е-Астана's
		// ticket, referral and refusal, signed by the МИО employee) the first of them.
		result := n.GetResult()
		if result == nil && len(n.GetResults()) > 0 {
			result = n.GetResults()[0].GetDocument()
		}
		final := known && lifecycle.Final(status, s.Seq, len(result.GetContent()) > 0)
		// A waiting list's place, when the status gives one.
		var (
			qList, qKind    string
			qNumber, qAhead *int64
		)
		if q := n.GetQueue(); q != nil {
			number, ahead := q.GetNumber(), q.GetAhead()
			qList, qKind, qNumber, qAhead = q.GetListId(), q.GetKind(), &number, &ahead
		}
		var one int
		err = tx.QueryRow(ctx, `INSERT INTO statuses (application_id, key, seq, status, at, text_ru, text_kk, reason_ru, reason_kk, comment, comment_kk,
				final, queue_list, queue_number, queue_ahead, queue_kind)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING RETURNING 1`,
			n.GetApplicationId(), fmt.Sprintf("rshep:%d", n.GetSequence()), s.Seq, s.Status, s.At, s.TextRU, s.TextKK, s.ReasonRU, s.ReasonKK, s.Comment, s.CommentKK,
			final, qList, qNumber, qAhead, qKind).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a repeat: recorded before
		}
		if err != nil {
			return err
		}
		var deadline *time.Time
		if n.GetDeadline() != nil {
			t := n.GetDeadline().AsTime()
			deadline = &t
		}
		// The application's own status follows the newest notification (by РШЭП's sequence).
		_, err = tx.Exec(ctx, `UPDATE applications SET
				status = CASE WHEN $6 AND $2::int >= coalesce((SELECT max(seq) FROM statuses WHERE application_id = $1 AND key LIKE 'rshep:%'), 0) THEN $3 ELSE status END,
				number = CASE WHEN $4 <> '' THEN $4 ELSE number END,
				deadline = coalesce($5, deadline)
			WHERE id = $1`, n.GetApplicationId(), s.Seq, status, n.GetRegistrationNumber(), deadline, known)
		if err != nil {
			return err
		}
		if qNumber != nil {
			// The newest place is the one of the highest sequence: a late redelivery of an older place
			// does not move the child back.
			if _, err := tx.Exec(ctx, `UPDATE applications SET queue_list = $3, queue_number = $4, queue_ahead = $5, queue_kind = $6, queue_seq = $2
				WHERE id = $1 AND queue_seq <= $2`, n.GetApplicationId(), s.Seq, qList, qNumber, qAhead, qKind); err != nil {
				return err
			}
		}
		if r := result; r != nil {
			if _, err := tx.Exec(ctx, `UPDATE applications SET result_media_type = $2, result_content = $3, result_signature = $4 WHERE id = $1`,
				n.GetApplicationId(), r.GetMediaType(), r.GetContent(), r.GetSignature()); err != nil {
				return err
			}
		}
		if err := store.AddDocuments(ctx, tx, n.GetApplicationId(), n.GetResults()); err != nil {
			return err
		}
		// Closed once the final notification is in and none before it is missing: notifications may
		// arrive out of order (a redelivery after a failure, concurrent workers), and the citizen's list
		// is complete only then.
		_, err = tx.Exec(ctx, `UPDATE applications a SET closed_at = coalesce(a.closed_at, $2)
			FROM (SELECT count(*) AS n, max(seq) AS last, bool_or(final) AS final
				FROM statuses WHERE application_id = $1 AND key LIKE 'rshep:%') r
			WHERE a.id = $1 AND r.final AND r.n = r.last`, n.GetApplicationId(), s.At)
		added = err == nil
		return err
	})
	if err == nil && added {
		in.count(ctx, service, status)
	}
	return err
}
