package cabinet_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

// BenchmarkPages: what the citizen's pages cost on the package's throw-away PostgreSQL, over real HTTP:
// the application's page with its signed registration ticket (every notification read, the ticket's
// signature checked against НУЦ — the OCSP answer cached as configured — and the child's place and
// movement read), beside the list of applications and the sign-in page of the same run.
//
//	go test -run '^$' -bench Pages -benchtime 2s ./services/eastana/internal/cabinet/
func BenchmarkPages(b *testing.B) {
	e, k := setup(b)
	br := e.browser(b, "")
	page := e.apply(b, br, k, e.child)
	id := mustCaseID(b, page)
	signer := e.ca.Issue(b, pki.Request{Profile: pki.Employee, Purpose: pki.Sign, Subject: pki.Subject{IIN: mio, Surname: "Омарова",
		GivenName: "Жанар", Organization: "ГУ «Управление образования города Астаны»", BIN: demo.BINAstanaEducation}}, pki.ECDSAP256)
	employee := intake.Employee{IIN: mio, Name: "Омарова Жанар", Position: "главный специалист"}
	require.NoError(b, e.in.PutEmployee(b.Context(), employee))
	d, err := e.in.Draft(b.Context(), id, employee, time.Now())
	require.NoError(b, err)
	sig, err := signer.Sign(d.Content)
	require.NoError(b, err)
	require.NoError(b, e.in.Sign(b.Context(), id, employee, d.Content, sig, time.Now()))
	for _, c := range []struct{ name, path, want string }{
		{"application with its signed ticket", page, `data-status="QUEUED"`},
		{"my applications", "/applications", `data-state="issued"`},
		{"sign-in page (baseline: a challenge written, no reads)", "/login", `name="challenge"`},
	} {
		b.Run(c.name, func(b *testing.B) {
			br.t = b
			for b.Loop() {
				code, body := br.get(c.path)
				if code != http.StatusOK {
					b.Fatalf("%s: HTTP %d", c.path, code)
				}
				_ = body
			}
			require.Contains(b, br.page, c.want)
		})
	}
}
