// Package channelweb is the web part the channels' sites share (ПЭП, the ЦОН desk, and any channel
// added later): a passport's form drawn and read, the attachments, the signing page, the signature taken
// and sent, the application's result with its signature checked, and the partial templates. A site mounts
// the handlers with its own templates, its own user and its hooks (Pages), and keeps only what its
// regulation makes it differ in.
package channelweb

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/natsbus"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// Partials are the templates the channels' pages share: "form_fields", "documents_input", "queue_place",
// "statuses" and "result". Parse them beside a site's own.
//
//go:embed web/*.html
var Partials embed.FS

// FieldView is a form field as a page draws it.
type FieldView struct {
	ID, Type, Label string
	// Format is the text's form ("email": an e-mail input).
	Format    string
	Required  bool
	Choices   []Choice
	MaxLength int
	Value     string
	// Shown is Value as people read it: a choice's label, else the value itself.
	Shown    string
	ReadOnly bool
}

// Choice is one value of a choice field with its label in the page's language.
type Choice struct{ Value, Label string }

// ChoiceLabel is how value of field f reads in lang: the passport's choice_labels, else the value itself
// (a field that is not a choice, or a value the passport no longer lists).
func ChoiceLabel(f catalog.Field, lang, value string) string {
	if t, ok := f.ChoiceLabels[value]; ok {
		return webkit.Pick(lang, t.RU, t.KK)
	}
	return value
}

// DocView is a document the form asks for.
type DocView struct {
	ID, Name string
	Required bool
}

// Form is a passport's form on a channel, drawn in lang with values; fixed values are shown read-only
// (the signed-in citizen's own IIN).
func Form(p *catalog.Passport, channel, lang string, values, fixed map[string]string) ([]FieldView, []DocView) {
	var fields []FieldView
	for _, f := range p.FieldsFor(channel) {
		v := FieldView{ID: f.ID, Type: f.Type, Format: f.Format, Label: webkit.Pick(lang, f.Label.RU, f.Label.KK), Required: f.Required,
			MaxLength: f.MaxLength, Value: values[f.ID]}
		for _, c := range f.Choices {
			v.Choices = append(v.Choices, Choice{Value: c, Label: ChoiceLabel(f, lang, c)})
		}
		if x, ok := fixed[f.ID]; ok {
			v.Value, v.ReadOnly = x, true
		}
		v.Shown = ChoiceLabel(f, lang, v.Value)
		switch {
		case f.Type == "bool" && v.Value == "true":
			v.Shown = webkit.Pick(lang, "да", "иә")
		case f.Type == "bool" && v.Value != "":
			v.Shown = webkit.Pick(lang, "нет", "жоқ")
		}
		fields = append(fields, v)
	}
	var docs []DocView
	for _, d := range p.DocumentsFor(channel) {
		docs = append(docs, DocView{ID: d.ID, Name: webkit.Pick(lang, d.Name.RU, d.Name.KK), Required: d.Required})
	}
	return fields, docs
}

// ReadFields takes the passport's fields of the channel from a submitted form (fixed values win):
// the rest of the form is ignored. Empty optional fields are left out.
func ReadFields(p *catalog.Passport, channel string, r *http.Request, fixed map[string]string) map[string]string {
	out := map[string]string{}
	for _, f := range p.FieldsFor(channel) {
		v := strings.TrimSpace(r.FormValue("f_" + f.ID))
		if f.Type == "bool" {
			if v == "" {
				v = "false"
			} else {
				v = "true"
			}
		}
		if x, ok := fixed[f.ID]; ok {
			v = x
		}
		if v != "" {
			out[f.ID] = v
		}
	}
	return out
}

// Attachments keeps uploaded files in the JetStream object store, under their SHA-256.
type Attachments struct {
	Store jetstream.ObjectStore
	// MaxSize bounds one file.
	MaxSize int64
	// Types are the media types accepted, as sniffed from the content (not as the browser names them).
	Types []string
}

// ErrTooLarge and ErrType are files the limits refuse.
var (
	ErrTooLarge = errors.New("file too large")
	ErrType     = errors.New("file type not accepted")
)

// Put stores a file and returns its reference.
func (a Attachments) Put(ctx context.Context, name string, f io.Reader) (*envelopev1.Attachment, error) {
	b, err := io.ReadAll(io.LimitReader(f, a.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > a.MaxSize {
		return nil, ErrTooLarge
	}
	mt := http.DetectContentType(b)
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	if !slices.Contains(a.Types, mt) {
		return nil, fmt.Errorf("%w: %s", ErrType, mt)
	}
	sum := sha256.Sum256(b)
	key := "sha256/" + hex.EncodeToString(sum[:])
	if _, err := a.Store.GetInfo(ctx, key); errors.Is(err, jetstream.ErrObjectNotFound) {
		if _, err := a.Store.PutBytes(ctx, key, b); err != nil {
			return nil, fmt.Errorf("attachments: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	return &envelopev1.Attachment{Name: filepath.Base(name), MediaType: mt, Size: int64(len(b)), Sha256: sum[:], ObjectKey: key}, nil
}

// ReadDocuments takes the documents of the channel from a multipart form: a file in "d_<id>", and at a
// ЦОН (paper true) the operator's mark "p_<id>" that the paper original was received. Files the limits
// refuse are named in problems, in the page's language.
func (a Attachments) ReadDocuments(ctx context.Context, p *catalog.Passport, channel, lang string, r *http.Request, paper bool) ([]*applicationv1.SubmittedDocument, []string, error) {
	var docs []*applicationv1.SubmittedDocument
	var problems []string
	for _, d := range p.DocumentsFor(channel) {
		sd := &applicationv1.SubmittedDocument{Id: d.ID, PaperReceived: paper && r.FormValue("p_"+d.ID) != ""}
		f, h, err := r.FormFile("d_" + d.ID)
		switch {
		case errors.Is(err, http.ErrMissingFile):
		case err != nil:
			return nil, nil, err
		default:
			att, err := a.put(ctx, f, h)
			switch {
			case errors.Is(err, ErrTooLarge):
				problems = append(problems, fmt.Sprintf("%s: %s (%d МБ)", webkit.Pick(lang, d.Name.RU, d.Name.KK), webkit.Pick(lang, "файл больше допустимого размера", "файл рұқсат етілген көлемнен үлкен"), a.MaxSize>>20))
				continue
			case errors.Is(err, ErrType):
				problems = append(problems, fmt.Sprintf("%s: %s", webkit.Pick(lang, d.Name.RU, d.Name.KK), webkit.Pick(lang, "допустимы только PDF, JPEG и PNG", "тек PDF, JPEG және PNG рұқсат етіледі")))
				continue
			case err != nil:
				return nil, nil, err
			}
			sd.Attachment = att
		}
		if sd.GetAttachment() != nil || sd.GetPaperReceived() {
			docs = append(docs, sd)
		}
	}
	return docs, problems, nil
}

func (a Attachments) put(ctx context.Context, f multipart.File, h *multipart.FileHeader) (*envelopev1.Attachment, error) {
	defer f.Close()
	if h.Size > a.MaxSize {
		return nil, ErrTooLarge
	}
	return a.Put(ctx, h.Filename, f)
}

// ResultView is the result document with its signature checked now, for the "result" partial.
type ResultView struct {
	Text        string
	Link        string
	Err         string
	Holder      struct{ Name, IIN, BIN, Organization string }
	SigningTime any
	Revoked     bool
	Source      string
	ProducedAt  any
	// Printables are the result documents' printable forms (PDF), when РШЭП issued them.
	Printables []Printable
}

// Result checks a's result and describes it; nil when there is none yet.
func Result(ctx context.Context, d *applicant.Desk, a *applicant.Application, link string) *ResultView {
	if len(a.ResultContent) == 0 {
		return nil
	}
	v := &ResultView{Text: string(a.ResultContent), Link: link, Printables: printables(ctx, d, a, link)}
	res, err := d.VerifyResult(ctx, a)
	if err != nil {
		v.Err = err.Error()
		return v
	}
	v.Holder.Name, v.Holder.IIN, v.Holder.BIN, v.Holder.Organization = res.Holder.Name, res.Holder.IIN, res.Holder.BIN, res.Holder.Organization
	v.SigningTime, v.Revoked, v.Source, v.ProducedAt = res.SigningTime, res.Status.Revoked, res.Status.Source, res.Status.ProducedAt
	return v
}

// ServeResult writes a's result document, or with ?part=signature its detached CMS signature.
func ServeResult(w http.ResponseWriter, r *http.Request, a *applicant.Application) {
	if len(a.ResultContent) == 0 {
		http.NotFound(w, r)
		return
	}
	name := a.Number
	if name == "" {
		name = a.ID
	}
	if r.URL.Query().Get("part") == "signature" {
		w.Header().Set("Content-Type", "application/pkcs7-signature")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.txt.p7s"`)
		_, _ = w.Write(a.ResultSignature)
		return
	}
	w.Header().Set("Content-Type", a.ResultMediaType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.txt"`)
	_, _ = w.Write(a.ResultContent)
}

// Funcs are the partials' template functions (with webkit.Funcs).
func Funcs() map[string]any {
	f := webkit.Funcs()
	f["statusName"] = StatusName
	f["shown"] = Shown
	f["queueKind"] = QueueKind
	f["queueList"] = QueueList
	f["list"] = func(xs ...string) []string { return xs }
	// docs passes a form page's documents to "documents_input": {{template "documents_input" (docs .)}}.
	f["docs"] = func(p webkit.Page) map[string]any {
		d, _ := p.Data.(map[string]any)
		return map[string]any{"Docs": d["Docs"], "Paper": d["Paper"], "Expiry": d["Expiry"], "T": p.T}
	}
	return f
}

// OpenAttachments keeps a channel's uploads in the suite's object store, up to maxSize bytes each, of
// the media types given (sniffed from the content).
func OpenAttachments(ctx context.Context, bus *natsbus.Bus, maxSize int64, types []string) (Attachments, error) {
	store, err := bus.JS.ObjectStore(ctx, natsbus.BucketAttachments)
	if err != nil {
		return Attachments{}, fmt.Errorf("attachments bucket: %w", err)
	}
	return Attachments{Store: store, MaxSize: maxSize, Types: types}, nil
}
