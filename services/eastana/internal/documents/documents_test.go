package documents_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/services/eastana/internal/documents"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
)

func TestRender(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 9, 1, 4, 30, 0, 0, time.UTC) // 09:30 in Astana
	mio := documents.Signer{Name: "Сарсенова Динара Жумабековна", Position: "главный специалист"}
	base := documents.Document{Number: "ЕА-2026-000007", ReceivedAt: at, ChildIIN: "230801500001", ChildBirth: time.Date(2023, 8, 1, 0, 0, 0, 0, time.UTC),
		ApplicantIIN: "850101400001", ListID: "astana", QueueNumber: 25, QueueKind: "general", Signer: mio}
	with := func(f func(*documents.Document)) documents.Document {
		d := base
		f(&d)
		return d
	}
	for _, c := range []struct {
		name    string
		doc     documents.Document
		want    []string
		absent  []string
		wantErr string
	}{
		{name: "ok/registration ticket", doc: with(func(d *documents.Document) { d.Kind, d.Ahead = documents.KindTicket, 24 }),
			want: []string{"ГУ «Управление образования города Астаны»\nУведомление о регистрации (регистрационный талон) с номером очереди\n",
				"Заявление № ЕА-2026-000007 от 01.09.2026 09:30", "Ребёнок: ИИН 230801500001, дата рождения 01.08.2023",
				"Очередь: г. Астана, список: общий", "Номер в очереди: 25", "Перед ребёнком в очереди: 24",
				"Подписал: Сарсенова Динара Жумабековна, главный специалист",
				"«Астана қаласының Білім басқармасы» ММ\nТіркеу туралы хабарлама (тіркеу талоны) кезек нөмірімен\n", "Кезектегі нөмірі: 25",
				"Баланың алдында кезекте: 24", "Қол қойған: Сарсенова Динара Жумабековна"}},
		{name: "ok/referral of the employee", doc: with(func(d *documents.Document) {
			d.Kind, d.Kindergarten, d.AgeFrom, d.AgeTo = documents.KindReferral, queue.Text{RU: "Ясли-сад № 1 «Балапан»", KK: "№ 1 «Балапан» бөбекжай-бақшасы"}, 3, 4
			d.OfferedAt, d.ExpiresAt = at, at.AddDate(0, 1, 0)
		}), want: []string{"Направление в детскую дошкольную организацию", "Дошкольная организация: Ясли-сад № 1 «Балапан»",
			"Возрастная группа: от 3 до 4 лет", "Направление действительно до: 01.10.2026", documents.ReferralNote.RU, documents.ReferralNote.KK,
			"Мектепке дейінгі ұйым: № 1 «Балапан» бөбекжай-бақшасы"}, absent: []string{"Место освобождено"}},
		{name: "ok/referral of the queue, district list", doc: with(func(d *documents.Document) {
			d.Kind, d.ListID, d.Signer, d.ReleasedBy = documents.KindReferral, "astana/Есиль", documents.SystemSigner, "Омаров Б."
			d.OfferedAt, d.ExpiresAt = at, at.AddDate(0, 1, 0)
		}), want: []string{"Очередь: г. Астана, Есиль", "Место освобождено: Омаров Б.", "сформирован и подписан ИС Е-Астана автоматически",
			"Орынды босатқан: Омаров Б."}, absent: []string{"Подписал:"}},
		{name: "ok/refusal of the queue, no child in ГБД ФЛ", doc: with(func(d *documents.Document) {
			d.Kind, d.ChildBirth, d.RefusalCode, d.Refusal = documents.KindRefusal, time.Time{}, "child_not_found", queue.Text{RU: "Ребёнок не найден", KK: "Бала табылмады"}
		}), want: []string{"Мотивированный ответ об отказе", "Ребёнок: ИИН 230801500001\n", "Основание отказа: Ребёнок не найден", "Бас тарту негізі: Бала табылмады"},
			absent: []string{"Номер в очереди", "дата рождения"}},
		{name: "ok/motivated refusal, no child iin", doc: with(func(d *documents.Document) {
			d.Kind, d.ChildIIN, d.Motivation = documents.KindRefusal, "", "Документы не подтверждают проживание"
		}), want: []string{"Ребёнок: ИИН не указан", "Мотивировка отказа: Документы не подтверждают проживание", "Бас тарту себебі: Документы"}},
		{name: "fail/unknown kind", doc: with(func(d *documents.Document) { d.Kind = "certificate" }), wantErr: `no document of kind "certificate"`},
		{name: "fail/no number", doc: with(func(d *documents.Document) { d.Kind, d.Number = documents.KindTicket, "" }), wantErr: "needs the application number"},
		{name: "fail/no signer", doc: with(func(d *documents.Document) { d.Kind, d.Signer = documents.KindTicket, documents.Signer{} }), wantErr: "names no signer"},
		{name: "fail/refusal without a ground", doc: with(func(d *documents.Document) { d.Kind = documents.KindRefusal }), wantErr: "needs its ground or a motivation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := c.doc.Render()
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			again, err := c.doc.Render()
			require.NoError(t, err)
			require.Equal(t, b, again, "the same data, the same bytes")
			s := string(b)
			for _, w := range c.want {
				require.Contains(t, s, w)
			}
			for _, w := range c.absent {
				require.NotContains(t, s, w)
			}
			ru, err := c.doc.Text("ru")
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(s, ru), "Russian first")
			_, err = c.doc.Text("en")
			require.ErrorContains(t, err, `no language "en"`)
		})
	}
}
