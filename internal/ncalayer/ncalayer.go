// Package ncalayer is a local signer that speaks the part of NCALayer's WebSocket protocol that the
// suite's pages use, over PKCS#12 key files issued by НУЦ (the national certification authority).
//
// NCALayer is the program a Kazakh citizen runs on their own computer: web pages connect to it on
// ws://127.0.0.1:13579, ask it to sign, and the person picks a key file and types its password in
// NCALayer's own window, so the private key never reaches the web server. This signer keeps that
// contract: it listens on the citizen's machine only (127.0.0.1), it holds the key files the person
// loaded, and a page gets a detached CMS signature back, never a key.
//
// What it speaks (module kz.gov.pki.knca.commonUtils):
//
//   - on connect it greets with {"result":{"version":"1.4"}};
//   - getKeyInfo ["PKCS12"] → the chosen signing key's certificate (alias, subjectDn, issuerDn,
//     serialNumber, certNotBefore/certNotAfter in Unix milliseconds, pem);
//   - createCMSSignatureFromBase64 ["PKCS12", "AUTHENTICATION"|"SIGNATURE", <base64>, false] → the
//     detached CMS signature (Base64, DER) made with the chosen key of that type;
//   - anything else → {"code":"500","message":"..."}.
//
// Where NCALayer opens a file dialog, this signer has a page of its own on the same port (GET /): the
// person chooses which loaded key is "inserted" for authentication and which for signing, or a person
// (both at once). A choice made there holds until changed; a signing request with no key of its type
// chosen is refused with a message that says where to choose one. The key files' password is given
// when the signer starts (demo keys share one) — the one departure from NCALayer, which asks each time.
//
// Like NCALayer, it asks the person before it uses a key for a web site it does not know: a request
// from an origin not yet allowed is held and shown on the signer's own page with «Разрешить» /
// «Запретить»; denied or left unanswered, the page gets an error that says signing for that site was not
// allowed. Only the signer's own page can allow (consent.go). An allowed origin is exact —
// scheme://host[:port], compared with == — so allowing https://x does not allow http://x, and no entry
// is a pattern. Every route answers on a loopback Host only, so a site whose name is rebound to
// 127.0.0.1 reads neither the page, nor the key list (/keys), nor the consent token.
package ncalayer

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/iin"
)

// Version is the NCALayer version the greeting announces.
const Version = "1.4"

// DefaultAddr is NCALayer's address.
const DefaultAddr = "127.0.0.1:13579"

// Key types of createCMSSignatureFromBase64.
const (
	KeyAuthentication = "AUTHENTICATION"
	KeySignature      = "SIGNATURE"
)

// Key is one loaded key file.
type Key struct {
	// Name is the file's base name, e.g. citizen-akhmetova-SIGN.p12.
	Name string
	// Person is the name without the type suffix, e.g. citizen-akhmetova.
	Person string
	// Type is KeyAuthentication or KeySignature, from the certificate's key usage.
	Type   string
	Holder envelope.Holder
	signer *envelope.Signer
}

// Cert is the key's certificate.
func (k *Key) Cert() *x509.Certificate { return k.signer.Cert }

// Signer is the local signer.
type Signer struct {
	log     *slog.Logger
	consent *consent
	// sameOrigin tells the signer's own page's forms from another site's (ownPage).
	sameOrigin *http.CrossOriginProtection

	mu     sync.Mutex
	keys   []*Key
	chosen map[string]string // key type → key name
}

// Options configure a signer.
type Options struct {
	// Files are PKCS#12 key files, or folders whose *.p12 files are loaded (system-*.p12 are skipped:
	// those are the systems' keys, not a person's; so is admin.p12, the administrator's key for the
	// admin APIs, not for the web pages).
	Files []string
	// Password opens the key files.
	Password string
	// Person, when set, is chosen at start (both its keys).
	Person string
	// Origins are the web origins whose pages may use the keys without asking, exactly as a browser
	// sends them: scheme://host[:port], e.g. "http://127.0.0.1:8060" (egov dev passes the suite's own
	// sites). No patterns: https://x does not allow http://x, nor x another port. Any page may connect, as to NCALayer, but
	// a request from another origin waits for the person's answer on the signer's page.
	Origins []string
	// ConsentTimeout bounds how long a request waits for that answer (2 minutes when zero); unanswered,
	// it is refused.
	ConsentTimeout time.Duration
	Log            *slog.Logger
}

// New loads the key files.
func New(o Options) (*Signer, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c, err := newConsent(o.Origins, o.ConsentTimeout)
	if err != nil {
		return nil, err
	}
	s := &Signer{log: o.Log, consent: c, sameOrigin: http.NewCrossOriginProtection(), chosen: map[string]string{}}
	var files []string
	for _, f := range o.Files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("ncalayer: %w", err)
		}
		if !st.IsDir() {
			files = append(files, f)
			continue
		}
		m, err := filepath.Glob(filepath.Join(f, "*.p12"))
		if err != nil {
			return nil, err
		}
		for _, x := range m {
			if base := filepath.Base(x); !strings.HasPrefix(base, "system-") && base != "admin.p12" {
				files = append(files, x)
			}
		}
	}
	for _, f := range files {
		if err := s.Load(f, o.Password); err != nil {
			return nil, err
		}
	}
	if len(s.keys) == 0 {
		return nil, errors.New("ncalayer: no key files loaded")
	}
	if o.Person != "" {
		if err := s.ChoosePerson(o.Person); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Load adds one key file.
func (s *Signer) Load(file, password string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("ncalayer: %w", err)
	}
	sg, err := envelope.LoadPKCS12(b, password)
	if err != nil {
		return fmt.Errorf("ncalayer: %s: %w", filepath.Base(file), err)
	}
	k := &Key{Name: filepath.Base(file), signer: sg, Holder: envelope.HolderOf(sg.Cert), Type: KeyAuthentication}
	if sg.Cert.KeyUsage&x509.KeyUsageContentCommitment != 0 {
		k.Type = KeySignature
	}
	k.Person = strings.TrimSuffix(k.Name, ".p12")
	for _, suffix := range []string{"-AUTH", "-SIGN", "-RSA", "-GOST"} {
		k.Person = strings.TrimSuffix(k.Person, suffix)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.DeleteFunc(s.keys, func(x *Key) bool { return x.Name == k.Name })
	s.keys = append(s.keys, k)
	sort.Slice(s.keys, func(i, j int) bool { return s.keys[i].Name < s.keys[j].Name })
	return nil
}

// Keys lists the loaded keys.
func (s *Signer) Keys() []*Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys)
}

// Choose makes the key named name the one used for its type.
func (s *Signer) Choose(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Name == name {
			s.chosen[k.Type] = k.Name
			return nil
		}
	}
	return fmt.Errorf("ncalayer: no key file %q is loaded", name)
}

// ChoosePerson chooses the person's authentication and signing keys (those named <person>-AUTH.p12 and
// <person>-SIGN.p12, or any of the person's keys of each type). A type the person has no key of is left
// unchosen, never with the previous person's key: signing in as one person and signing as another is
// not what anyone choosing a person means.
func (s *Signer) ChoosePerson(person string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	chosen := map[string]string{}
	for _, k := range s.keys {
		if k.Person == person {
			chosen[k.Type] = k.Name
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("ncalayer: no key of %q is loaded", person)
	}
	s.chosen = chosen
	return nil
}

// Chosen is the key used for a key type, or nil.
func (s *Signer) Chosen(keyType string) *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Name == s.chosen[keyType] {
			return k
		}
	}
	return nil
}

// request is a message from a page.
type request struct {
	Module string            `json:"module"`
	Method string            `json:"method"`
	Args   []json.RawMessage `json:"args"`
}

// answer is NCALayer's reply.
type answer struct {
	Code           string `json:"code"`
	Message        string `json:"message,omitempty"`
	ResponseObject any    `json:"responseObject,omitempty"`
}

// KeyInfo is getKeyInfo's answer.
type KeyInfo struct {
	Alias                  string `json:"alias"`
	KeyID                  string `json:"keyId"`
	Algorithm              string `json:"algorithm"`
	SubjectCN              string `json:"subjectCn"`
	SubjectDN              string `json:"subjectDn"`
	IssuerCN               string `json:"issuerCn"`
	IssuerDN               string `json:"issuerDn"`
	SerialNumber           string `json:"serialNumber"`
	CertNotBefore          string `json:"certNotBefore"`
	CertNotAfter           string `json:"certNotAfter"`
	AuthorityKeyIdentifier string `json:"authorityKeyIdentifier"`
	PEM                    string `json:"pem"`
}

// noKey is the message of a request made before a key of its type is chosen.
func (s *Signer) noKey(keyType, self string) string {
	return fmt.Sprintf("не выбран ключ %s: откройте %s и выберите файл ключа / %s кілті таңдалмаған", keyType, self, keyType)
}

// Handle answers one request of a page from origin (its Origin header; "" when it sent none). A request
// that uses a key — its certificate or a signature — waits for the person's consent when origin is not
// allowed yet.
func (s *Signer) Handle(ctx context.Context, raw []byte, self, origin string) answer {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return answer{Code: "500", Message: "bad request: " + err.Error()}
	}
	arg := func(i int) string {
		if i >= len(req.Args) {
			return ""
		}
		var v string
		_ = json.Unmarshal(req.Args[i], &v)
		return v
	}
	if req.Module != "kz.gov.pki.knca.commonUtils" {
		return answer{Code: "500", Message: "module not supported: " + req.Module}
	}
	switch req.Method {
	case "getActiveTokens":
		return answer{Code: "200", ResponseObject: []string{}}
	case "getKeyInfo":
		if st := arg(0); st != "PKCS12" {
			return answer{Code: "500", Message: "storage not supported: " + st}
		}
		if err := s.consent.ask(ctx, origin, "getKeyInfo"); err != nil {
			s.log.InfoContext(ctx, "ncalayer: refused", "origin", origin, "method", req.Method, "reason", err.Error())
			return answer{Code: "500", Message: notAllowed(origin, self)}
		}
		k := s.Chosen(KeySignature)
		if k == nil {
			k = s.Chosen(KeyAuthentication)
		}
		if k == nil {
			return answer{Code: "500", Message: s.noKey(KeySignature, self)}
		}
		return answer{Code: "200", ResponseObject: info(k)}
	case "createCMSSignatureFromBase64":
		if st := arg(0); st != "PKCS12" {
			return answer{Code: "500", Message: "storage not supported: " + st}
		}
		keyType := arg(1)
		if keyType != KeyAuthentication && keyType != KeySignature {
			return answer{Code: "500", Message: "key type must be AUTHENTICATION or SIGNATURE, not " + strconv.Quote(keyType)}
		}
		data, err := base64.StdEncoding.DecodeString(arg(2))
		if err != nil {
			return answer{Code: "500", Message: "the data to sign is not Base64: " + err.Error()}
		}
		if len(req.Args) > 3 && string(req.Args[3]) == "true" {
			return answer{Code: "500", Message: "attached signatures are not supported: ask for a detached one (false)"}
		}
		k := s.Chosen(keyType)
		if k == nil {
			return answer{Code: "500", Message: s.noKey(keyType, self)}
		}
		if err := s.consent.ask(ctx, origin, keyType); err != nil {
			s.log.InfoContext(ctx, "ncalayer: refused", "origin", origin, "method", req.Method, "reason", err.Error())
			return answer{Code: "500", Message: notAllowed(origin, self)}
		}
		sig, err := k.signer.Sign(data)
		if err != nil {
			return answer{Code: "500", Message: err.Error()}
		}
		s.log.InfoContext(ctx, "ncalayer: signed", "key", k.Name, "type", keyType, "holder", iin.Mask(k.Holder.IIN), "bytes", len(data))
		return answer{Code: "200", ResponseObject: base64.StdEncoding.EncodeToString(sig)}
	}
	return answer{Code: "500", Message: "method not supported: " + req.Method}
}

func info(k *Key) KeyInfo {
	c := k.Cert()
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	return KeyInfo{Alias: k.Name, KeyID: fmt.Sprintf("%x", c.SubjectKeyId), Algorithm: c.PublicKeyAlgorithm.String(),
		SubjectCN: c.Subject.CommonName, SubjectDN: c.Subject.String(), IssuerCN: c.Issuer.CommonName, IssuerDN: c.Issuer.String(),
		SerialNumber: c.SerialNumber.Text(16), CertNotBefore: ms(c.NotBefore), CertNotAfter: ms(c.NotAfter),
		AuthorityKeyIdentifier: fmt.Sprintf("%x", c.AuthorityKeyId),
		PEM:                    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))}
}

// Handler serves the WebSocket protocol and, for plain HTTP, the key choice page, all on a loopback
// Host only (onLoopback).
func (s *Signer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			s.serveWS(w, r)
			return
		}
		s.page(w, r, "")
	})
	mux.HandleFunc("POST /choose", s.choose)
	mux.HandleFunc("POST /consent", s.answerConsent)
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		type row struct {
			Name, Person, Type, Holder, IIN, BIN string
			Chosen                               bool
		}
		var out []row
		for _, k := range s.Keys() {
			out = append(out, row{k.Name, k.Person, k.Type, k.Holder.Name, k.Holder.IIN, k.Holder.BIN, s.Chosen(k.Type) == k})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return onLoopback(mux)
}

func (s *Signer) serveWS(w http.ResponseWriter, r *http.Request) {
	// Any page may connect, as to NCALayer: what guards the keys is the person's consent per origin.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered
	}
	defer func() { _ = c.CloseNow() }()
	c.SetReadLimit(32 << 20)
	// The connection is read apart from the answering, so that a page that goes away while its request
	// waits for the person's consent cancels ctx: the question leaves the signer's page with it.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	self := "http://" + r.Host + "/"
	greet, _ := json.Marshal(map[string]any{"result": map[string]string{"version": Version}})
	if err := c.Write(ctx, websocket.MessageText, greet); err != nil {
		return
	}
	requests := make(chan []byte)
	go func() {
		defer cancel()
		for {
			_, raw, err := c.Read(ctx)
			if err != nil {
				return
			}
			select {
			case requests <- raw:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		var raw []byte
		select {
		case raw = <-requests:
		case <-ctx.Done():
			return
		}
		b, _ := json.Marshal(s.Handle(ctx, raw, self, r.Header.Get("Origin")))
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			return
		}
	}
}

// choose takes the page's form: key=<file> (repeatable) or person=<name>. Only the signer's own page (or
// a client that is no browser page, such as curl) may change the choice: another web page cannot.
func (s *Signer) choose(w http.ResponseWriter, r *http.Request) {
	if !s.ownPage(r) {
		http.Error(w, "the key choice is made on the signer's own page", http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var errs []error
	if p := r.PostForm.Get("person"); p != "" {
		errs = append(errs, s.ChoosePerson(p))
	}
	// "key" (repeatable, any type) for a script; the page sends one group per type.
	keys := slices.Concat(r.PostForm["key"], r.PostForm["key_"+KeyAuthentication], r.PostForm["key_"+KeySignature])
	for _, k := range keys {
		if k != "" {
			errs = append(errs, s.Choose(k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		s.page(w, r, err.Error())
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var pageTmpl = template.Must(template.New("").Parse(`<!doctype html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ключи подписи — egov ncalayer</title><style>body{font-family:system-ui,sans-serif;margin:1rem;overflow-wrap:anywhere}
td,th{padding:.2rem .5rem;text-align:left;vertical-align:top}table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:bold;padding:.4rem 0}
.error{color:#a40000;font-weight:bold}.warning{background:#fff4d6;padding:.4rem}button{padding:.35rem .8rem;margin:.3rem 0}
.skip{position:absolute;left:-9999px}.skip:focus{left:.5rem}
@media (max-width:40rem){table,thead,tbody,tr,th,td,caption{display:block}thead tr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
tr{border-bottom:1px solid #ddd;padding:.3rem 0}td[data-label]::before{content:attr(data-label) ": ";color:#555}}</style></head><body>
<a class="skip" href="#main">Перейти к содержанию</a><main id="main">
<h1>egov ncalayer — ключи / кілттер</h1>
<p>Страницы портала, ЦОН и АРМ подписывают через этот сервис (WebSocket {{.WS}}). Выберите ключ для входа (AUTHENTICATION) и ключ для подписи (SIGNATURE): это два разных выбора. / Кіру кілтін (AUTHENTICATION) және қол қою кілтін (SIGNATURE) бөлек таңдаңыз.</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Pending}}<section id="consent"><h2>Запросы на подпись / Қол қою сұраулары</h2>
<p>Эти сайты просят использовать ваш ключ. Разрешайте только сайтам, которым доверяете. / Бұл сайттар кілтіңізді пайдалануды сұрайды.</p>
<table><thead><tr><th>Сайт / Сайт</th><th>Запрос / Сұрау</th><th>Решение / Шешім</th></tr></thead><tbody>
{{range .Pending}}<tr><td class="origin" data-label="Сайт">{{.Origin}}</td><td data-label="Запрос">{{.What}}</td><td><form method="post" action="/consent"><input type="hidden" name="token" value="{{$.Token}}"><input type="hidden" name="origin" value="{{.Origin}}">
<button type="submit" name="decision" value="allow" class="allow">Разрешить / Рұқсат ету</button> <button type="submit" name="decision" value="deny" class="deny">Запретить / Тыйым салу</button></form></td></tr>
{{end}}</tbody></table></section>{{end}}
<h2>Выбрано / Таңдалды</h2>
<p>AUTHENTICATION — <b id="chosen-auth">{{.Auth}}</b>{{if .AuthHolder}} ({{.AuthHolder}}){{end}}; SIGNATURE — <b id="chosen-sign">{{.Sign}}</b>{{if .SignHolder}} ({{.SignHolder}}){{end}}</p>
{{if .Mixed}}<p class="warning" id="mixed" role="status">Ключ входа и ключ подписи принадлежат разным людям: вход будет от имени «{{.AuthHolder}}», подпись — от имени «{{.SignHolder}}». / Кіру кілті мен қол қою кілті әртүрлі адамдарға тиесілі.</p>{{end}}
<form method="post" action="/choose"><label>Человек (оба ключа) / Адам (екі кілт) <select name="person" id="person">{{range .People}}<option>{{.}}</option>{{end}}</select></label>
<button type="submit" id="choose-person">Выбрать оба ключа человека</button></form>
<form method="post" action="/choose">{{range .Groups}}<table id="keys-{{.Type}}"><caption>{{.Title}}</caption><thead><tr><th>Выбор</th><th>Файл</th><th>Владелец</th><th>ИИН</th><th>БИН</th><th>Действует до</th></tr></thead><tbody>
{{$type := .Type}}{{range .Keys}}<tr><td><input type="radio" name="key_{{$type}}" value="{{.Name}}" id="key-{{.Name}}" {{if .Chosen}}checked{{end}}></td><td data-label="Файл"><label for="key-{{.Name}}">{{.Name}}</label></td><td data-label="Владелец">{{.Holder}}</td><td data-label="ИИН">{{.IIN}}</td><td data-label="БИН">{{if .BIN}}{{.BIN}}{{else}}—{{end}}</td><td data-label="Действует до">{{.Until}}</td></tr>
{{end}}</tbody></table>{{end}}<button type="submit" id="choose-key">Выбрать отмеченные ключи</button></form>
</main></body></html>`))

func (s *Signer) page(w http.ResponseWriter, r *http.Request, errText string) {
	type row struct {
		Name, Type, Holder, IIN, BIN, Until string
		Chosen                              bool
	}
	// One radio group per key type: choosing a signing key never unchooses the authentication key, and
	// the page shows whose each chosen key is.
	type group struct {
		Type, Title string
		Keys        []row
	}
	groups := []*group{{Type: KeyAuthentication, Title: "Ключи входа (AUTHENTICATION) / Кіру кілттері"},
		{Type: KeySignature, Title: "Ключи подписи (SIGNATURE) / Қол қою кілттері"}}
	var people []string
	for _, k := range s.Keys() {
		for _, g := range groups {
			if g.Type == k.Type {
				g.Keys = append(g.Keys, row{k.Name, k.Type, k.Holder.Name, k.Holder.IIN, k.Holder.BIN, k.Cert().NotAfter.Format("2006-01-02"), s.Chosen(k.Type) == k})
			}
		}
		if !slices.Contains(people, k.Person) {
			people = append(people, k.Person)
		}
	}
	// Whose a chosen key is: the holder's name and IIN (people are told apart by the IIN, not the name).
	name := func(t string) (string, string) {
		if k := s.Chosen(t); k != nil {
			return k.Name, strings.TrimSpace(k.Holder.Name + ", " + k.Holder.IIN + k.Holder.BIN)
		}
		return "—", ""
	}
	auth, authHolder := name(KeyAuthentication)
	sign, signHolder := name(KeySignature)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTmpl.Execute(w, map[string]any{"Groups": groups, "People": people, "Error": errText, "WS": "ws://" + r.Host + "/",
		"Auth": auth, "Sign": sign, "AuthHolder": authHolder, "SignHolder": signHolder,
		"Mixed":   authHolder != "" && signHolder != "" && authHolder != signHolder,
		"Pending": s.consent.pending(), "Token": s.consent.token})
}
