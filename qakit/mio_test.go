package qakit_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/qakit"
)

// cabinetPage is the markup of the МИО cabinet's pages qakit reads (services/eastana/internal/mio/web).
const (
	placesPage = `<form method="post" action="/mio/logout" class="inline"><input type="hidden" name="csrf" value="0a1b2c"></form>
<section class="card kindergarten" id="kg-ast-001"><h2>Ясли-сад № 1 «Балапан»</h2><table><tbody>
<tr id="group-7" data-ages="1-2"><td data-label="Возрастная группа">1–2 лет</td></tr>
<tr id="group-8" data-ages="2-3"><td data-label="Возрастная группа">2–3 лет</td></tr></tbody></table></section>
<section class="card kindergarten" id="kg-ast-002"><h2>Ясли-сад № 2 «Айгөлек»</h2><table><tbody>
<tr id="group-12" data-ages="2-3"><td>2–3 лет</td></tr></tbody></table></section>`
	casesPage = `<table id="cases"><tbody><tr data-state="awaiting"><td><a href="/mio/cases/41">ЕА-2026-000041</a></td></tr>
<tr data-state="awaiting"><td><a href="/mio/cases/42">ЕА-2026-000042</a></td></tr></tbody></table>`
)

// TestMIO: qakit's МИО employee finds a kindergarten's group by its ages and releases its places, opens
// the case of an application number, and signs its draft over the bytes the page offers, posting them
// back with the signature.
func TestMIO(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	draft := []byte("УВЕДОМЛЕНИЕ О РЕГИСТРАЦИИ (регистрационный талон) ~~~>>>")
	var mu sync.Mutex
	posted := map[string]url.Values{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			posted[r.URL.Path] = r.PostForm
			mu.Unlock()
			return
		}
		switch r.URL.Path {
		case "/mio/places":
			_, _ = w.Write([]byte(placesPage))
		case "/mio/":
			_, _ = w.Write([]byte(casesPage))
		case "/mio/cases/42":
			b64 := html.EscapeString(base64.StdEncoding.EncodeToString(draft))
			_, _ = w.Write([]byte(`<form id="sign"><input type="hidden" name="csrf" value="0a1b2c"><input type="hidden" name="content" value="` + b64 +
				`"><button type="button" id="sign-ncalayer" data-sign="` + b64 + `" data-key="SIGNATURE">`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	m := &qakit.MIO{Person: qakit.Browser(srv.URL)}
	m.Sign = ca.Person(t, "870614400527", pki.Sign)
	ctx := t.Context()

	_, err := m.Release(ctx, "Ясли-сад № 2 «Айгөлек»", 2, 3, 4)
	require.NoError(t, err)
	_, err = m.Release(ctx, "Ясли-сад № 1 «Балапан»", 2, 3, 1)
	require.NoError(t, err)
	_, err = m.Release(ctx, "Ясли-сад № 1 «Балапан»", 5, 6, 1)
	require.ErrorContains(t, err, "no group 5–6")

	path, _, found, err := m.Case(ctx, "ЕА-2026-000042", "awaiting")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "/mio/cases/42", path)
	_, _, found, err = m.Case(ctx, "ЕА-2026-000099", "awaiting")
	require.NoError(t, err)
	require.False(t, found)
	_, err = m.SignDraft(ctx, path)
	require.NoError(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, url.Values{"csrf": {"0a1b2c"}, "n": {"4"}}, posted["/mio/groups/12/release"], "the group of the kindergarten named")
	require.Equal(t, []string{"1"}, posted["/mio/groups/8/release"]["n"])
	sign := posted["/mio/cases/42/sign"]
	require.Equal(t, base64.StdEncoding.EncodeToString(draft), sign.Get("content"), "the draft posted back as it was offered")
	sig, err := base64.StdEncoding.DecodeString(sign.Get("signature"))
	require.NoError(t, err)
	res, err := ca.Verifier(t, ca.Checker(time.Minute)).Verify(ctx, draft, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	require.NoError(t, err)
	require.Equal(t, "870614400527", res.Holder.IIN)
}
