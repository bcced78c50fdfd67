package ncalayer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncalayer"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
)

const password = "secret"

// suiteOrigin is the site the fixture's signer serves without asking, as egov dev pre-allows its own.
const suiteOrigin = "http://127.0.0.1:8080"

func keyFile(t *testing.T, dir, name string, s *envelope.Signer) {
	t.Helper()
	b, err := pki.PKCS12(s.Key, s.Cert, s.Chain, password)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
}

type fixture struct {
	ca     *ncatest.Authority
	signer *ncalayer.Signer
	srv    *httptest.Server
}

// start loads the fixture's keys into a signer with the options given (Files, Password and Origins are
// the fixture's).
func start(t *testing.T, opts ...ncalayer.Options) *fixture {
	t.Helper()
	var o ncalayer.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ca := ncatest.New(t)
	dir := t.TempDir()
	keyFile(t, dir, "citizen-a-AUTH.p12", ca.Person(t, "880512400011", pki.Auth))
	keyFile(t, dir, "citizen-a-SIGN.p12", ca.Person(t, "880512400011", pki.Sign))
	keyFile(t, dir, "citizen-b-SIGN.p12", ca.Person(t, "841103300017", pki.Sign))
	keyFile(t, dir, "system-portal.p12", ca.System(t, "portal"))
	o.Files, o.Password = []string{dir}, password
	o.Origins = append(o.Origins, suiteOrigin)
	s, err := ncalayer.New(o)
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{ca: ca, signer: s, srv: srv}
}

// call connects as a page of the suite's own site does, reads the greeting and sends one request.
func (f *fixture) call(t *testing.T, req map[string]any) map[string]any {
	t.Helper()
	return f.callFrom(t, suiteOrigin, req)
}

// callFrom connects as a page of origin does, reads the greeting and sends one request.
func (f *fixture) callFrom(t *testing.T, origin string, req map[string]any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {origin}}})
	require.NoError(t, err)
	if resp.Body != nil {
		require.NoError(t, resp.Body.Close())
	}
	defer func() { _ = c.CloseNow() }()
	_, greet, err := c.Read(ctx)
	require.NoError(t, err)
	require.JSONEq(t, `{"result":{"version":"`+ncalayer.Version+`"}}`, string(greet))
	b, err := json.Marshal(req)
	require.NoError(t, err)
	require.NoError(t, c.Write(ctx, websocket.MessageText, b))
	_, raw, err := c.Read(ctx)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

func signReq(keyType string, data []byte) map[string]any {
	return map[string]any{"module": "kz.gov.pki.knca.commonUtils", "method": "createCMSSignatureFromBase64",
		"args": []any{"PKCS12", keyType, base64.StdEncoding.EncodeToString(data), false}}
}

func TestSignsWithTheChosenKeyOfEachType(t *testing.T) {
	f := start(t)
	require.Len(t, f.signer.Keys(), 3, "system keys are not a person's and are skipped")

	out := f.call(t, signReq(ncalayer.KeySignature, []byte("заявление")))
	require.Equal(t, "500", out["code"])
	require.Contains(t, out["message"], "не выбран ключ SIGNATURE", "signing before a key is chosen says where to choose one")

	require.NoError(t, f.signer.ChoosePerson("citizen-a"))
	v := f.ca.Verifier(t, f.ca.Checker(time.Minute))
	for _, tc := range []struct {
		keyType string
		purpose envelope.Purpose
	}{{ncalayer.KeySignature, envelope.PurposeDocument}, {ncalayer.KeyAuthentication, envelope.PurposeAuthentication}} {
		data := []byte("текст для подписи " + tc.keyType)
		out := f.call(t, signReq(tc.keyType, data))
		require.Equal(t, "200", out["code"], out)
		sig, err := base64.StdEncoding.DecodeString(out["responseObject"].(string))
		require.NoError(t, err)
		res, err := v.Verify(t.Context(), data, sig, envelope.Expect{Purpose: tc.purpose, IIN: "880512400011"})
		require.NoError(t, err, tc.keyType)
		require.Equal(t, "880512400011", res.Holder.IIN)
	}

	// The page form switches the signing key to another person's file.
	resp, err := http.PostForm(f.srv.URL+"/choose", url.Values{"key": {"citizen-b-SIGN.p12"}})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "841103300017", f.signer.Chosen(ncalayer.KeySignature).Holder.IIN)
	require.Equal(t, "880512400011", f.signer.Chosen(ncalayer.KeyAuthentication).Holder.IIN, "the other type's choice stays")

	info := f.call(t, map[string]any{"module": "kz.gov.pki.knca.commonUtils", "method": "getKeyInfo", "args": []any{"PKCS12"}})
	require.Equal(t, "200", info["code"])
	ki := info["responseObject"].(map[string]any)
	require.Equal(t, "citizen-b-SIGN.p12", ki["alias"])
	require.Contains(t, ki["subjectDn"], "IIN841103300017")
	require.Contains(t, ki["pem"], "BEGIN CERTIFICATE")
}

func TestRefusesWhatItDoesNotSpeak(t *testing.T) {
	f := start(t)
	require.NoError(t, f.signer.ChoosePerson("citizen-a"))
	for name, tc := range map[string]struct {
		req  map[string]any
		want string
	}{
		"module":   {map[string]any{"module": "kz.gov.pki.knca.basics", "method": "sign"}, "module not supported"},
		"method":   {map[string]any{"module": "kz.gov.pki.knca.commonUtils", "method": "signXml"}, "method not supported"},
		"storage":  {map[string]any{"module": "kz.gov.pki.knca.commonUtils", "method": "createCMSSignatureFromBase64", "args": []any{"AKKaztokenStore", "SIGNATURE", "YQ==", false}}, "storage not supported"},
		"key type": {signReq("BOTH", []byte("a")), "key type must be"},
		"base64":   {map[string]any{"module": "kz.gov.pki.knca.commonUtils", "method": "createCMSSignatureFromBase64", "args": []any{"PKCS12", "SIGNATURE", "не base64", false}}, "not Base64"},
		"attached": {map[string]any{"module": "kz.gov.pki.knca.commonUtils", "method": "createCMSSignatureFromBase64", "args": []any{"PKCS12", "SIGNATURE", "YQ==", true}}, "attached signatures are not supported"},
	} {
		out := f.call(t, tc.req)
		require.Equal(t, "500", out["code"], name)
		require.Contains(t, out["message"], tc.want, name)
	}
}

func TestAnotherPageCannotChangeTheKey(t *testing.T) {
	f := start(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/choose", strings.NewReader("person=citizen-b"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Nil(t, f.signer.Chosen(ncalayer.KeySignature))
}

func TestWrongPasswordIsNamed(t *testing.T) {
	ca := ncatest.New(t)
	dir := t.TempDir()
	keyFile(t, dir, "x-SIGN.p12", ca.Person(t, "880512400011", pki.Sign))
	_, err := ncalayer.New(ncalayer.Options{Files: []string{dir}, Password: "wrong"})
	require.ErrorIs(t, err, envelope.ErrPassword)
	require.Contains(t, err.Error(), "x-SIGN.p12")
}

// TestThePageChoosesEachTypeApart: the page has one choice per key type, shows whose each chosen key is
// and warns when they are different people's; choosing a person never keeps another person's key of a
// type that person has none of.
func TestThePageChoosesEachTypeApart(t *testing.T) {
	f := start(t)
	require.NoError(t, f.signer.ChoosePerson("citizen-a"))
	resp, err := http.PostForm(f.srv.URL+"/choose", url.Values{"key_SIGNATURE": {"citizen-b-SIGN.p12"}, "key_AUTHENTICATION": {"citizen-a-AUTH.p12"}})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "841103300017", f.signer.Chosen(ncalayer.KeySignature).Holder.IIN)
	require.Equal(t, "880512400011", f.signer.Chosen(ncalayer.KeyAuthentication).Holder.IIN)

	resp, err = http.Get(f.srv.URL + "/")
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Contains(t, string(page), `name="key_AUTHENTICATION" value="citizen-a-AUTH.p12"`)
	require.Contains(t, string(page), `name="key_SIGNATURE" value="citizen-b-SIGN.p12"`)
	require.NotContains(t, string(page), `name="key" `, "no single group for both types")
	require.Contains(t, string(page), `id="mixed"`, "two people's keys are pointed out")

	// citizen-b has a SIGN key only: their choice leaves no AUTH key of citizen-a behind.
	require.NoError(t, f.signer.ChoosePerson("citizen-b"))
	require.Nil(t, f.signer.Chosen(ncalayer.KeyAuthentication))
	require.Equal(t, "841103300017", f.signer.Chosen(ncalayer.KeySignature).Holder.IIN)
	require.Error(t, f.signer.ChoosePerson("nobody"))
	require.Equal(t, "841103300017", f.signer.Chosen(ncalayer.KeySignature).Holder.IIN, "a failed choice changes nothing")
}
