package qakit_test

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/qakit"
)

// TestSignResultOnSignsEveryDocument: a case page offering two result documents (a contract and a
// decision on payment) gets one signature for each, in the page's order, over the bytes the page
// offers (HTML-escaped Base64 included).
func TestSignResultOnSignsEveryDocument(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	docs := [][]byte{[]byte("ДОГОВОР № 27-2026-000001 ~~~>>>"), []byte("РЕШЕНИЕ № 27-2026-000001 ???")}
	tests := []struct {
		name  string
		docs  [][]byte
		fails string
	}{
		{name: "ok/two documents, two signatures", docs: docs},
		{name: "ok/one document, one signature", docs: docs[:1]},
		{name: "fail/nothing to sign", fails: "offers no result to sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					if err := r.ParseForm(); err != nil {
						http.Error(w, err.Error(), http.StatusBadRequest)
						return
					}
					mu.Lock()
					got = r.PostForm["signature"]
					mu.Unlock()
					return
				}
				body := `<form id="sign"><input type="hidden" name="csrf" value="0a1b2c"><input type="hidden" name="step" value="sign">`
				for i, d := range tt.docs {
					sfx := ""
					if i > 0 {
						sfx = fmt.Sprintf("-%d", i)
					}
					// html/template writes '+' in an attribute as &#43;.
					body += fmt.Sprintf(`<button type="button" id="sign-ncalayer%s" data-sign="%s">`, sfx, html.EscapeString(base64.StdEncoding.EncodeToString(d)))
				}
				_, _ = w.Write([]byte(body + `</form>`))
			}))
			t.Cleanup(srv.Close)
			staff := &qakit.Staff{Person: qakit.Browser(srv.URL), Region: "27"}
			staff.Sign = ca.Person(t, "750723300016", pki.Sign)
			pg, err := staff.Get(t.Context(), "/arm/cases/1")
			require.NoError(t, err)
			_, err = staff.SignResultOn(t.Context(), pg)
			if tt.fails != "" {
				require.ErrorContains(t, err, tt.fails)
				return
			}
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, got, len(tt.docs))
			v := ca.Verifier(t, ca.Checker(time.Minute))
			for i, d := range tt.docs {
				sig, err := base64.StdEncoding.DecodeString(got[i])
				require.NoError(t, err)
				res, err := v.Verify(t.Context(), d, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
				require.NoError(t, err, "document %d", i)
				require.Equal(t, "750723300016", res.Holder.IIN)
			}
		})
	}
}
