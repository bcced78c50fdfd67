package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/printform"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/eastana/internal/documents"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// DecisionError is an employee's action refused, with the reason in Russian and Kazakh for the cabinet.
type DecisionError struct {
	Code string
	Text queue.Text
}

func (e *DecisionError) Error() string { return "eastana: " + e.Code + ": " + e.Text.RU }

// The refusals of an employee's action.
var (
	ErrStale = &DecisionError{Code: "stale", Text: queue.Text{
		RU: "Положение ребёнка в очереди изменилось с тех пор, как документ был подготовлен: просмотрите документ снова и подпишите его заново.",
		KK: "Құжат дайындалғаннан бері баланың кезектегі жағдайы өзгерді: құжатты қайта қарап, оған қайтадан қол қойыңыз.",
	}}
	ErrDecided = &DecisionError{Code: "decided", Text: queue.Text{
		RU: "По этому заявлению решение уже принято.",
		KK: "Бұл өтініш бойынша шешім қабылданып қойған.",
	}}
	ErrClosed = &DecisionError{Code: "closed", Text: queue.Text{
		RU: "Ребёнок уже вышел из очереди (направление отклонено, истекло или зарегистрировано): оформите мотивированный отказ.",
		KK: "Бала кезектен шығып қойған (жолдамадан бас тартылған, мерзімі өткен немесе тіркелген): дәлелді бас тартуды ресімдеңіз.",
	}}
	ErrMotivation = &DecisionError{Code: "motivation", Text: queue.Text{
		RU: "Укажите мотивировку отказа (не более 2000 знаков).",
		KK: "Бас тарту себебін көрсетіңіз (2000 таңбадан аспауы керек).",
	}}
	errNotStaff = &DecisionError{Code: "not_staff", Text: queue.Text{
		RU: "Вы не числитесь сотрудником МИО в ИС Е-Астана: решения подписывают только сотрудники МИО.",
		KK: "Сіз Е-Астана АЖ-да ЖАО қызметкері ретінде тіркелмегенсіз: шешімдерге тек ЖАО қызметкерлері қол қояды.",
	}}
	errInactive = &DecisionError{Code: "inactive", Text: queue.Text{
		RU: "Ваша учётная запись сотрудника МИО отключена: обратитесь к администратору ИС Е-Астана.",
		KK: "ЖАО қызметкерінің есептік жазбаңыз өшірілген: Е-Астана АЖ әкімшісіне хабарласыңыз.",
	}}
	errWrongSigner = &DecisionError{Code: "wrong_signer", Text: queue.Text{
		RU: "Документ подписан не вашим ключом: подпишите его своим ключом ЭЦП (ИИН в регистрационном свидетельстве должен быть вашим).",
		KK: "Құжатқа сіздің кілтіңізбен қол қойылмаған: оған өз ЭЦҚ кілтіңізбен қол қойыңыз (тіркеу куәлігіндегі ЖСН сіздікі болуы керек).",
	}}
	errRevoked = &DecisionError{Code: "revoked", Text: queue.Text{
		RU: "Регистрационное свидетельство вашего ключа ЭЦП отозвано: получите новый ключ в НУЦ и подпишите снова.",
		KK: "ЭЦҚ кілтіңіздің тіркеу куәлігі кері қайтарылған: ҰКО-дан жаңа кілт алып, қайта қол қойыңыз.",
	}}
	errStatusUnavailable = &DecisionError{Code: "status_unavailable", Text: queue.Text{
		RU: "Не удалось проверить статус регистрационного свидетельства в НУЦ: повторите подписание позже.",
		KK: "ҰКО-да тіркеу куәлігінің мәртебесін тексеру мүмкін болмады: кейінірек қайта қол қойыңыз.",
	}}
)

// signatureRefused is the regulation's refusal for an employee's signature that fails (condition 2 of
// the МИО channel), with the technical reason.
func signatureRefused(err error) *DecisionError {
	why, _ := envelope.Reason(err)
	return &DecisionError{Code: "signature", Text: queue.Text{
		RU: fmt.Sprintf("Подпись не принята: не подтверждена подлинность ЭЦП сотрудника МИО (%s).", why),
		KK: fmt.Sprintf("Қолтаңба қабылданбады: ЖАО қызметкерінің ЭЦҚ түпнұсқалығы расталмады (%s).", why),
	}}
}

// Draft is the result document an employee is to sign: its kind, name, media type and the exact bytes.
type Draft struct {
	Kind      string
	Name      queue.Text
	MediaType string
	Content   []byte
}

// Draft renders the document employee e is to sign for case id from the case's current state: the
// registration ticket while the child waits, the referral once a place is offered, or the refusal (the
// queue's, or the employee's motivation). The document names e.
func (in *Intake) Draft(ctx context.Context, id int64, e Employee, now time.Time) (*Draft, error) {
	who, err := in.staff(ctx, e)
	if err != nil {
		return nil, err
	}
	c, err := in.load(ctx, in.DB, id, false)
	if err != nil {
		return nil, err
	}
	if c.State != "awaiting" {
		return nil, ErrDecided
	}
	doc, err := in.document(ctx, in.DB, c, documents.Signer{Name: who.Name, Position: who.Position})
	if err != nil {
		return nil, err
	}
	content, err := doc.Render()
	if err != nil {
		return nil, err
	}
	return &Draft{Kind: doc.Kind, Name: doc.Name(), MediaType: documents.MediaType, Content: content}, nil
}

// document is the data of case c's document as of now, signed by s, read in q (the pool, or the
// transaction that holds the list's lock).
func (in *Intake) document(ctx context.Context, q execer, c *row, s documents.Signer) (documents.Document, error) {
	kind, closed := c.kindNow()
	if closed {
		return documents.Document{}, ErrClosed
	}
	d := documents.Document{Kind: kind, Number: c.Number, ReceivedAt: c.ReceivedAt, ChildIIN: c.ChildIIN, ApplicantIIN: c.ApplicantIIN, Signer: s}
	if c.EntryID != nil {
		pos, err := store.PositionIn(ctx, q, *c.EntryID)
		if err != nil {
			return documents.Document{}, err
		}
		d.ChildBirth, d.ListID, d.QueueNumber, d.QueueKind, d.Ahead = pos.Entry.BirthDate, pos.Entry.ListID, pos.Entry.Number, string(pos.Entry.Kind), pos.Ahead
	}
	switch kind {
	case documents.KindRefusal:
		if c.motivation != "" {
			d.Motivation = c.motivation
		} else {
			d.RefusalCode, d.Refusal = c.refusalCode, c.refusal
		}
	case documents.KindReferral:
		var offer int64
		err := q.QueryRow(ctx, `SELECT id FROM offers WHERE entry_id = $1 AND state = 'offered'`, *c.EntryID).Scan(&offer)
		if errors.Is(err, pgx.ErrNoRows) {
			return documents.Document{}, ErrStale // the referral closed between reading the entry and the offer
		}
		if err != nil {
			return documents.Document{}, err
		}
		if err := in.referral(ctx, q, offer, &d); err != nil {
			return documents.Document{}, err
		}
	}
	return d, nil
}

// referral fills d with referral offer: the kindergarten, the group, its dates and who released the place.
func (in *Intake) referral(ctx context.Context, q execer, offer int64, d *documents.Document) error {
	var by string
	err := q.QueryRow(ctx, `SELECT o.offered_at, o.expires_at, o.offered_by, g.age_from, g.age_to, k.name_ru, k.name_kk
		FROM offers o JOIN seats s ON s.id = o.seat_id JOIN groups g ON g.id = s.group_id JOIN kindergartens k ON k.id = g.kindergarten_id
		WHERE o.id = $1`, offer).
		Scan(&d.OfferedAt, &d.ExpiresAt, &by, &d.AgeFrom, &d.AgeTo, &d.Kindergarten.RU, &d.Kindergarten.KK)
	d.ReleasedBy = releasedBy(by)
	return err
}

// releasedBy is the employee a referral names as having released the place: the store's "by" of the
// offer, unless it is one of the queue's own occasions.
func releasedBy(by string) string {
	switch by {
	case "registration", "expiry", "demo", "allocate", "":
		return ""
	}
	return by
}

// Sign records employee e's signature of case id's result document and issues it: the draft is rendered
// again under the list's and the case's locks and must be the signed bytes (else ErrStale); the signature
// must be a valid ЭЦП of e (their IIN, a signing key, not revoked) who must be on the staff. The decision's
// notification (QUEUED, REFERRAL_OFFERED or REFUSED, with the signed document in results) is committed
// with the case, and goes through ШЭП from the forward worker (ForwardOnce); a case of the cabinets
// (Origin Local) keeps it for them. Every refusal is a *DecisionError.
func (in *Intake) Sign(ctx context.Context, id int64, e Employee, content, signature []byte, now time.Time) error {
	who, err := in.staff(ctx, e)
	if err != nil {
		return err
	}
	if in.Verifier == nil {
		return errors.New("eastana: no verifier of the employees' signatures")
	}
	if len(signature) == 0 {
		return signatureRefused(&envelope.Error{Code: envelope.CodeMalformed, Detail: "no signature"})
	}
	// Verified before the transaction: the certificate's status may take an OCSP round trip.
	_, err = in.Verifier.Verify(ctx, content, signature, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: who.IIN, BIN: in.BIN})
	switch envelope.CodeOf(err) {
	case "":
		if err != nil {
			return err
		}
	case envelope.CodeIINMismatch:
		return errWrongSigner
	case envelope.CodeRevoked:
		return errRevoked
	case envelope.CodeStatusUnavailable:
		return errStatusUnavailable
	default:
		return signatureRefused(err)
	}
	// The document is rendered and its printable form laid out before the locks, so that a registration
	// of the same list does not wait for a PDF; under the locks the document is rendered again, and the
	// printable form stands only if that is still the signed text.
	signer := documents.Signer{Name: who.Name, Position: who.Position}
	pre, err := in.load(ctx, in.DB, id, false)
	if err != nil {
		return err
	}
	if pre.State != "awaiting" {
		return ErrDecided
	}
	doc, err := in.document(ctx, in.DB, pre, signer)
	if err != nil {
		return err
	}
	if want, err := doc.Render(); err != nil {
		return err
	} else if !bytes.Equal(want, content) {
		return ErrStale
	}
	rd := &applicationv1.ResultDocument{Id: doc.Kind, Kind: doc.Kind, Name: &applicationv1.LocalizedText{Ru: doc.Name().RU, Kk: doc.Name().KK},
		Document: &envelopev1.SignedDocument{MediaType: documents.MediaType, Content: content, Signature: signature}}
	if err := in.print(rd, doc, pre.Number, who.Name, queue.Text{RU: who.Position, KK: who.Position}, now); err != nil {
		return err
	}
	if err := in.at(ctx, "locking"); err != nil {
		return err
	}
	return pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		c, err := in.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := in.at(ctx, "locked"); err != nil {
			return err
		}
		if c.State != "awaiting" {
			return ErrDecided
		}
		doc, err := in.document(ctx, tx, c, signer)
		if err != nil {
			return err
		}
		want, err := doc.Render()
		if err != nil {
			return err
		}
		if !bytes.Equal(want, content) {
			return ErrStale
		}
		n := in.decision(c, doc, now)
		n.Result, n.Results = rd.GetDocument(), []*applicationv1.ResultDocument{rd}
		if _, err := tx.Exec(ctx, `UPDATE applications SET state = 'issued', decision = $2, document = $3, signature = $4, signed_by = $5,
				signed_at = $6, notify_seq = $7 WHERE id = $1`, c.ID, doc.Kind, content, signature, who.IIN, now, n.GetSequence()); err != nil {
			return err
		}
		if c.EntryID != nil {
			// The decision reports the child's place as it is: the events so far are in it.
			if _, err := tx.Exec(ctx, `UPDATE events SET notified = true WHERE entry_id = $1 AND NOT notified`, *c.EntryID); err != nil {
				return err
			}
		}
		return in.queueNotification(ctx, tx, c, n, now)
	})
}

// lock locks case id for a decision: its list first (every change of a list takes the list's lock
// first, so the child's place cannot change until the commit), then the case's row.
func (in *Intake) lock(ctx context.Context, tx pgx.Tx, id int64) (*row, error) {
	var listID string
	err := tx.QueryRow(ctx, `SELECT e.list_id FROM applications a JOIN entries e ON e.id = a.entry_id WHERE a.id = $1`, id).Scan(&listID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		if _, err := tx.Exec(ctx, `SELECT id FROM lists WHERE id = $1 FOR UPDATE`, listID); err != nil {
			return nil, err
		}
	}
	return in.load(ctx, tx, id, true)
}

// textGroundsAbsent is the regulation's general wording of a refusal (the passport's grounds_absent),
// the ground of an employee's motivated refusal.
var textGroundsAbsent = queue.Text{RU: "мотивированный ответ об отказе в предоставлении услуги", KK: "қызмет көрсетуден бас тарту туралы дәлелді жауап"}

// decision is the notification of case c's signed document d, numbered after the case's last.
func (in *Intake) decision(c *row, d documents.Document, now time.Time) *applicationv1.StatusNotification {
	a := &applicationv1.Application{ApplicationId: c.ApplicationID, ServiceCode: c.serviceCode, Region: c.region}
	var n *applicationv1.StatusNotification
	entry := store.Entry{ListID: d.ListID, Number: d.QueueNumber, Kind: queue.Kind(d.QueueKind)}
	switch d.Kind {
	case documents.KindTicket:
		n = Registered(a, store.Result{Entry: entry}, d.Ahead, now)
	case documents.KindReferral:
		n = Registered(a, store.Result{Entry: entry, Referral: &store.Offer{ExpiresAt: d.ExpiresAt}}, 0, now)
	default:
		if d.Motivation != "" {
			n = Refused(a, &queue.Refusal{Code: "grounds_absent", Text: textGroundsAbsent}, now)
			n.Comment = d.Motivation
			n.CommentText = &applicationv1.LocalizedText{Ru: d.Motivation, Kk: d.Motivation}
		} else {
			n = Refused(a, &queue.Refusal{Code: d.RefusalCode, Text: d.Refusal}, now)
		}
	}
	n.RegistrationNumber = c.Number
	n.Sequence = c.notifySeq + 1
	return n
}

// queueNotification keeps n as case c's next notification: in the outbox for ШЭП, or for the cabinets
// when the case is theirs.
func (in *Intake) queueNotification(ctx context.Context, tx pgx.Tx, c *row, n *applicationv1.StatusNotification, now time.Time) error {
	in.word(n)
	if err := in.mailResults(ctx, tx, c, n); err != nil { // a result document by e-mail too, where asked (mail.go)
		return err
	}
	b, err := proto.Marshal(n)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO notifications (application, sequence, notification, created_at, outbox) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, n.GetSequence(), b, now, c.Sender != Local)
	return err
}

// print adds to rd its printable form (PDF), sealed with the system key, when a verification address is
// configured: the same text in both languages, the signer, and the QR code of the portal's /verify.
func (in *Intake) print(rd *applicationv1.ResultDocument, d documents.Document, number, signer string, position queue.Text, now time.Time) error {
	if in.VerifyURL == "" {
		return nil
	}
	if in.Seal == nil {
		return errors.New("eastana: a verification address is configured but no system key to seal the printable forms")
	}
	texts := map[string]string{}
	for _, lang := range documents.Languages {
		t, err := d.Text(lang)
		if err != nil {
			return err
		}
		texts[lang] = t
	}
	link := printform.VerifyLink(in.VerifyURL, number, d.Kind, rd.GetDocument().GetContent())
	name := d.Name()
	pdf, err := printform.Render(printform.ResultDocument(printform.Result{Number: number, DocID: d.Kind,
		Provider: catalog.Text(documents.Provider), Document: catalog.Text(name), Texts: texts, Signer: signer,
		Position: catalog.Text(position), At: now.In(calendar.Zone), VerifyURL: link}))
	if err != nil {
		return fmt.Errorf("eastana: the printable form of %s: %w", number, err)
	}
	sig, err := in.Seal.Sign(pdf)
	if err != nil {
		return err
	}
	rd.Printable = &envelopev1.SignedDocument{MediaType: printform.MediaType, Content: pdf, Signature: sig}
	rd.VerifyUrl = link
	return nil
}

// maxMotivation is the longest motivation accepted, in characters.
const maxMotivation = 2000

// Refuse records employee e's motivated refusal of case id before it is signed: the child leaves the list
// if it is still in it (a waiting child is removed, a referral offered is declined and its place passes on;
// both recorded as the queue's events), and the draft becomes the refusal with the motivation, which the
// employee then signs (Sign) as any result.
func (in *Intake) Refuse(ctx context.Context, id int64, e Employee, motivation string, now time.Time) error {
	who, err := in.staff(ctx, e)
	if err != nil {
		return err
	}
	motivation = strings.TrimSpace(motivation)
	if motivation == "" || utf8.RuneCountInString(motivation) > maxMotivation || !utf8.ValidString(motivation) {
		return ErrMotivation
	}
	c, err := in.load(ctx, in.DB, id, false)
	if err != nil {
		return err
	}
	if c.State != "awaiting" {
		return ErrDecided
	}
	if c.EntryID != nil {
		if err := in.withdraw(ctx, *c.EntryID, who, now); err != nil {
			return err
		}
	}
	return pgdb.InTx(ctx, in.DB, func(tx pgx.Tx) error {
		c, err := in.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if c.State != "awaiting" {
			return ErrDecided
		}
		_, err = tx.Exec(ctx, `UPDATE applications SET motivation = $2 WHERE id = $1`, id, motivation)
		return err
	})
}

// withdraw takes a child out of the list for a refusal: removed while waiting, its referral declined when
// offered; a child already out is left as it is. The state is read again when a change came between.
func (in *Intake) withdraw(ctx context.Context, entry int64, who Employee, now time.Time) error {
	for range 3 {
		pos, err := in.Store.Position(ctx, entry)
		if err != nil {
			return err
		}
		switch pos.Entry.State {
		case "waiting":
			err = in.Store.Remove(ctx, entry, now)
		case "offered":
			var offer int64
			if err := in.DB.QueryRow(ctx, `SELECT id FROM offers WHERE entry_id = $1 AND state = 'offered'`, entry).Scan(&offer); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					continue
				}
				return err
			}
			_, err = in.Store.Decline(ctx, offer, who.Name, now)
		default:
			return nil
		}
		if errors.Is(err, store.ErrNoEntry) || errors.Is(err, store.ErrOfferNotActive) {
			continue // the child's place changed meanwhile: look again
		}
		return err
	}
	return errors.New("eastana: the child's place kept changing; try the refusal again")
}

// sealed is d rendered and signed with the system key, as a result document of a notification.
func (in *Intake) sealed(d documents.Document) (*applicationv1.ResultDocument, error) {
	content, err := d.Render()
	if err != nil {
		return nil, err
	}
	sig, err := in.Seal.Sign(content)
	if err != nil {
		return nil, err
	}
	return &applicationv1.ResultDocument{Id: d.Kind, Kind: d.Kind, Name: &applicationv1.LocalizedText{Ru: d.Name().RU, Kk: d.Name().KK},
		Document: &envelopev1.SignedDocument{MediaType: documents.MediaType, Content: content, Signature: sig}}, nil
}
