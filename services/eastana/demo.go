package eastana

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// demoKindergartens are the dev mode's ДДО of Astana: every place occupied, so that the demo queue
// waits and a place released in the МИО cabinet goes to its first child of the right age.
var demoKindergartens = []store.Kindergarten{
	{ID: "ast-001", Name: queue.Text{RU: "Ясли-сад № 1 «Балапан»", KK: "№ 1 «Балапан» бөбекжай-бақшасы"}},
	{ID: "ast-002", Name: queue.Text{RU: "Ясли-сад № 2 «Айгөлек»", KK: "№ 2 «Айгөлек» бөбекжай-бақшасы"}},
	{ID: "ast-003", Name: queue.Text{RU: "Ясли-сад № 3 «Еркемай»", KK: "№ 3 «Еркемай» бөбекжай-бақшасы"}},
}

// MIOEmployeeSlug is the demo person on ИС Е-Астана's staff.
const MIOEmployeeSlug = "mio-astana"

// MIOEmployeePosition is the demo employee's position, printed under the results they sign.
const MIOEmployeePosition = "главный специалист отдела дошкольного образования"

// demoQueue is how many children the demo queue holds before the first application of the demo.
const demoQueue = 24

// seedDemo makes the demo kindergartens and queue once: a second start finds them and adds nothing.
// The queue's children are synthetic (not in ГБД ФЛ; their IINs begin with 9, which no real IIN of a
// child under 7 does): they stand before a demo application so that its number is not 1.
func seedDemo(ctx context.Context, db *pgxpool.Pool, st *store.Store, in *intake.Intake, now time.Time) ([]demo.Entry, error) {
	var entries []demo.Entry
	// The МИО employee of the cast signs the results in the working cabinet (НУЦ issued their keys).
	for _, p := range demo.People {
		if p.Slug != MIOEmployeeSlug {
			continue
		}
		if err := in.PutEmployee(ctx, intake.Employee{IIN: p.IIN, Name: p.Surname + " " + p.GivenName + " " + p.Patronymic,
			Position: MIOEmployeePosition}); err != nil {
			return nil, fmt.Errorf("demo МИО employee: %w", err)
		}
		entries = append(entries, demo.Entry{Service: "eastana", Kind: "сотрудник МИО", Name: p.Surname + " " + p.GivenName, IIN: p.IIN,
			Role: MIOEmployeePosition})
	}
	for _, k := range demoKindergartens {
		var exists bool
		if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kindergartens WHERE id = $1)`, k.ID).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			k.ListID = intake.City
			for age := 1; age < 6; age++ {
				k.Groups = append(k.Groups, store.Group{AgeFrom: age, AgeTo: age + 1, Capacity: 25})
			}
			if _, _, err := st.AddKindergarten(ctx, k, "demo", now); err != nil {
				return nil, fmt.Errorf("demo kindergarten %s: %w", k.ID, err)
			}
		}
		entries = append(entries, demo.Entry{Service: "eastana", Kind: "kindergarten", Name: k.Name.RU, Role: "5 групп по 25 мест, все заняты"})
	}
	var waiting int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM entries`).Scan(&waiting); err != nil {
		return nil, err
	}
	for i := waiting; i < demoQueue; i++ {
		birth := now.AddDate(-1-i%5, -(i % 11), -i)
		c := &queue.Child{IIN: fmt.Sprintf("9%s%05d", birth.Format("060102"), i), BirthDate: birth, Representatives: []string{"900000000000"}}
		if _, err := st.Register(ctx, store.Registration{ListID: intake.City, ApplicantIIN: "900000000000", Child: c, Channel: "office"}, now); err != nil {
			return nil, fmt.Errorf("demo queue child %d: %w", i+1, err)
		}
	}
	entries = append(entries, demo.Entry{Service: "eastana", Kind: "queue", Name: "очередь г. Астаны",
		Role: fmt.Sprintf("%d детей (вымышленные ИИН на 9) ожидают места", demoQueue)})
	return entries, nil
}
