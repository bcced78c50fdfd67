package browser

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/qakit"
)

// Асель's children under 7 (internal/demo): the kindergarten waiting list's.
const (
	youngChild    = "230614600014"
	youngestChild = "250220500010"
)

// TestWaitingListPages: the Astana kindergarten registration (preschool-registration.71) on the two
// channels, in Russian and Kazakh. On the portal Асель applies for Айлин with consent to the result by
// e-mail; ИС Е-Астана registers her and the МИО employee signs the registration ticket; the application's
// page shows QUEUED with «Номер в очереди: N; перед вами: M» and the signed ticket, and «Просмотр номера
// очереди» lists the child with her place. At a ЦОН the operator applies for Данияр, and the desk's page
// of the application shows his place. Every page is looked at in both languages and widths (axe-core).
func TestWaitingListPages(t *testing.T) {
	d := suite(t)
	b := newBrowser(t)
	signer := d.Endpoints.Signer
	portal := d.Endpoints.Services["portal"].HTTP
	tson := d.Endpoints.Services["tson"].HTTP
	// The МИО employee signs the drafted registration tickets in ИС Е-Астана's working cabinet (over
	// HTTP: this test is about the channels' pages).
	employee, err := qakit.NewMIO(t.Context(), d.Endpoints.Services["eastana"].HTTP, filepath.Join(d.DataDir, "keys"), "mio-astana")
	require.NoError(t, err)
	signTicket := func(t *testing.T, number string) {
		t.Helper()
		path, _, found, err := employee.Case(t.Context(), number, "awaiting")
		require.NoError(t, err)
		require.True(t, found, "the application %s awaits the employee's decision", number)
		pg, err := employee.SignDraft(t.Context(), path)
		require.NoError(t, err)
		require.NoError(t, pg.Err())
	}

	t.Run("portal", func(t *testing.T) {
		b.t = t
		b.choosePerson(signer, "citizen-akhmetova")
		b.run("certificate sign-in", chromedp.Navigate(portal+"/login"), submit("#login-cert-sign"), chromedp.WaitVisible("#welcome", chromedp.ByQuery))

		// Consent without an address is refused with the field's name; with one, the draft is recorded.
		b.run("form", chromedp.Navigate(portal+"/services/preschool-registration/71"), chromedp.WaitVisible("#application-form", chromedp.ByQuery),
			chromedp.SendKeys("#f_child_iin", youngChild, chromedp.ByQuery), chromedp.SetValue("#f_email_consent", "yes", chromedp.ByQuery),
			submit("#form-submit"), chromedp.WaitVisible("#problems", chromedp.ByQuery))
		require.Contains(t, b.text("#problems"), "не заполнено поле «Адрес электронной почты для результата»")
		b.shot("queue-portal-01-email-required")
		var emailType string
		var ok bool
		b.run("e-mail input", chromedp.AttributeValue("#f_email", "type", &emailType, &ok, chromedp.ByQuery))
		require.Equal(t, "email", emailType)
		b.run("fill", chromedp.Navigate(portal+"/services/preschool-registration/71"), chromedp.WaitVisible("#application-form", chromedp.ByQuery),
			chromedp.SendKeys("#f_child_iin", youngChild, chromedp.ByQuery), chromedp.SetValue("#f_email_consent", "yes", chromedp.ByQuery),
			chromedp.SendKeys("#f_email", "asel.akhmetova@mail.kz", chromedp.ByQuery),
			submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		require.Contains(t, b.text("#summary"), youngChild)
		b.run("sign", submit("#sign-ncalayer"), chromedp.WaitVisible("#sent", chromedp.ByQuery))
		var page string
		b.run("where", chromedp.Location(&page))
		page = strings.Split(page, "?")[0]

		// Registered at once with ИС Е-Астана's number; nothing is decided before the employee signs.
		number := strings.TrimSpace(b.until(page, "#number", "ЕА-", 60*time.Second))
		require.NotContains(t, b.statuses(), "QUEUED")
		var places int
		b.run("no place yet", chromedp.Evaluate(`document.querySelectorAll("#queue-place").length`, &places))
		require.Zero(t, places, "no place before the signed ticket")
		signTicket(t, number)

		b.until(page, "#status", "Поставлен в очередь", 60*time.Second)
		queueNumber := b.text("#queue-number")
		require.NotEmpty(t, queueNumber)
		require.Contains(t, b.text("#queue-line"), "Номер в очереди: "+queueNumber+"; перед вами:")
		require.Contains(t, b.text(`#statuses tr[data-status="QUEUED"]`), queueNumber, "the queue number is in the status's text")
		require.NotContains(t, b.text("#statuses"), "{queue_number}")
		require.Contains(t, b.text("#result-signer"), "САРСЕНОВА", "the registration ticket is signed by the МИО employee")
		require.Contains(t, b.text("#result-cert"), "действителен")
		var closed int
		b.run("open", chromedp.Evaluate(`document.querySelectorAll("#closed").length`, &closed))
		require.Zero(t, closed, "a waiting child's application stays open")
		b.shot("queue-portal-02-queued")
		b.look("queue-portal-application", page)

		// «Просмотр номера очереди», linked from the cabinet.
		b.run("cabinet", chromedp.Navigate(portal+"/cabinet"), submit("#to-queue"), chromedp.WaitVisible(".queue-child", chromedp.ByQuery))
		require.Contains(t, b.text(".queue-child"), "23********14", "the child, masked")
		require.Contains(t, b.text(".queue-child .queue-number"), queueNumber)
		require.Contains(t, b.text(".queue-movement"), "Поставлен в очередь")
		b.shot("queue-portal-03-queue")
		b.look("queue-portal-queue", portal+"/queue")
		b.run("kazakh", submit(`a[lang="kk"]`), chromedp.WaitVisible(".queue-child", chromedp.ByQuery))
		require.Contains(t, b.text("h1"), "Кезек нөмірін қарау")
		require.Contains(t, b.text(".queue-child"), "Кезекке қойылды")
		b.run("russian", submit(`a[lang="ru"]`), chromedp.WaitVisible(".queue-child", chromedp.ByQuery))
	})

	t.Run("tson", func(t *testing.T) {
		b.t = t
		b.choosePerson(signer, "tson-operator")
		b.run("operator sign-in", chromedp.Navigate(tson+"/login"), submit("#login-sign"), chromedp.WaitVisible("#new", chromedp.ByQuery))
		b.run("look-up", chromedp.Navigate(tson+"/new/preschool-registration/71"), chromedp.SendKeys("#citizen_iin", asel, chromedp.ByQuery),
			submit("#lookup"), chromedp.WaitVisible("#lookups", chromedp.ByQuery))
		b.run("form", chromedp.SendKeys("#f_child_iin", youngestChild, chromedp.ByQuery), chromedp.Click("#p_preschool_application", chromedp.ByQuery),
			submit("#form-submit"), chromedp.WaitVisible("#sign-ncalayer", chromedp.ByQuery))
		b.run("operator signs", submit("#sign-ncalayer"), chromedp.WaitVisible("#receipt", chromedp.ByQuery))
		var receipt string
		b.run("where", chromedp.Location(&receipt))
		page := strings.TrimSuffix(receipt, "/receipt")

		number := strings.TrimSpace(b.until(page, "#number", "ЕА-", 60*time.Second))
		signTicket(t, number)
		b.until(page, "#status", "Поставлен в очередь", 60*time.Second)
		queueNumber := b.text("#queue-number")
		require.Contains(t, b.text("#queue-line"), "Номер в очереди: "+queueNumber+"; перед вами:")
		require.Contains(t, b.text("#result-signer"), "САРСЕНОВА")
		require.Contains(t, b.text("#result-cert"), "действителен")
		var unclaim int
		b.run("no unclaimed while waiting", chromedp.Evaluate(`document.querySelectorAll("#unclaimed").length`, &unclaim))
		require.Zero(t, unclaim, "a waiting child's ticket is not left unclaimed")
		b.shot("queue-tson-01-queued")
		b.look("queue-tson-application", page)

		// Process 8: the ticket handed over at the counter while the child waits.
		b.run("hand over", chromedp.Navigate(page), chromedp.WaitVisible("#hand-over", chromedp.ByQuery),
			submit("#hand-over"), chromedp.WaitVisible("#handed-over", chromedp.ByQuery))
		st := b.statuses()
		require.Equal(t, []string{"QUEUED", "HANDED_OVER"}, st[len(st)-2:])
		require.Contains(t, b.text("#queue-line"), "Номер в очереди: "+queueNumber)
		b.shot("queue-tson-02-handed-over")
	})

	b.noPersonalDataInURLs(asel, youngChild, youngestChild)
}
