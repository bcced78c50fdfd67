package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/pgdb"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/rshep/internal/store"
)

// Hand-over of a printed result at the office.
const (
	ActHandedOver = "handed_over"
	ActUnclaimed  = "unclaimed"
)

// OfficeRefusal is why an application entered at the office is not registered: the clerk reads it at
// once and corrects the form (nothing is recorded; the citizen is still at the desk).
type OfficeRefusal struct {
	Code string
	Text catalog.Text
	// Detail names what is wrong, in both languages (АРМ shows the employee's).
	Detail catalog.Text
}

func (r *OfficeRefusal) Error() string { return r.Text.RU + ": " + r.Detail.RU }

// Office registers an application the provider's clerk (канцелярия) entered in АРМ and signed with the
// employee's SIGN key. It enters the engine's own intake, not ШЭП: the office is the provider itself, so
// there is no channel to carry the application to the provider or to notify afterwards. The same checks,
// number, steps and terms follow as for a channel's application. It returns the case, or an
// *OfficeRefusal.
func (e *Engine) Office(ctx context.Context, region string, clerk Employee, signed *envelopev1.SignedDocument) (*Case, error) {
	if !clerk.Has("clerk") {
		return nil, refuseAction("wrong_role", "only a clerk takes applications at the office",
			"заявления в канцелярии принимает сотрудник канцелярии", "кеңседе өтінішті кеңсе қызметкері қабылдайды")
	}
	payload, err := proto.Marshal(signed)
	if err != nil {
		return nil, err
	}
	env := &envelopev1.Envelope{Type: envelopev1.MessageType_MESSAGE_TYPE_REQUEST, PayloadType: PayloadType, Payload: payload,
		Sender: "office-" + region, Region: region, MessageDate: timestamppb.New(e.o.Now())}
	opened, r, err := e.open(ctx, region, env, clerk.IIN)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return nil, &OfficeRefusal{Code: r.code, Text: r.text, Detail: r.detail}
	}
	opened.clerk = clerk
	// The application id is the message id: the same application entered twice finds its case.
	env.MessageId = opened.app.GetApplicationId()
	id, err := e.register(ctx, region, env, opened)
	if err != nil {
		return nil, err
	}
	if err := e.Advance(ctx, id); err != nil {
		return nil, err
	}
	return e.Get(ctx, region, id)
}

// HandOver records that the printed result of a closed office case was handed to the applicant in person
// (handed) or that nobody came for it (unclaimed).
func (e *Engine) HandOver(ctx context.Context, region string, id int64, who Employee, handed bool) error {
	err := pgdb.InTx(ctx, e.o.DB, func(tx pgx.Tx) error {
		c, err := store.Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Region != region {
			return ErrNotFound
		}
		if c.Channel != "office" {
			return refuseAction("wrong_channel", "the result of an application made through %s goes back through it, not over the office's counter",
				"результат заявления, поданного через другой канал, доставляется этим каналом, а не выдаётся в канцелярии",
				"басқа арна арқылы берілген өтініштің нәтижесі сол арна арқылы жеткізіледі, кеңседе берілмейді", c.Channel)
		}
		if !c.Closed() || c.Status != "RESULT_ISSUED" {
			return refuseAction("wrong_step", "only a signed result not yet handed over can be handed over (status %s)",
				"выдать можно только подписанный и ещё не выданный результат", "тек қол қойылған және әлі берілмеген нәтижені беруге болады", c.Status)
		}
		if !who.Has("clerk") {
			return refuseAction("wrong_role", "a clerk hands the result over", "результат выдаёт сотрудник канцелярии", "нәтижені кеңсе қызметкері береді")
		}
		now := e.o.Now()
		status, act := "HANDED_OVER", ActHandedOver
		if !handed {
			status, act = "UNCLAIMED", ActUnclaimed
		}
		c.Status = status
		c.NotifySeq++
		if err := store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: who.IIN, ActorName: who.Name, Role: "clerk",
			Action: act, Status: status}); err != nil {
			return err
		}
		return store.Save(ctx, tx, c)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		var ae *ActionError
		if !errors.As(err, &ae) {
			return fmt.Errorf("engine: hand over case %d: %w", id, err)
		}
	}
	return err
}

// Person looks a person up in ГБД ФЛ (through ШЭП, as the region's node) for the clerk who identifies the
// applicant at the office; ErrNoRecord when ГБД ФЛ has none.
func (e *Engine) Person(ctx context.Context, region, iin string) (*gbdflv1.Person, error) {
	if e.o.Registries == nil {
		return nil, errors.New("engine: no registries to ask")
	}
	return e.o.Registries.Person(ctx, region, iin)
}
