package applicant_test

import (
	"bytes"
	"errors"
	"html/template"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// TestRefusalCommentInTheCitizensLanguage: РШЭП refuses an application at intake and says what failed in
// both languages (the form problems of catalog.CheckApplicationText). The channel records both, and the
// status table of a Kazakh page carries the Kazakh comment and not the Russian one; a Russian page the
// Russian one. A notification of an older РШЭП (comment only, in Russian) still shows its comment.
func TestRefusalCommentInTheCitizensLanguage(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := cat.Get("guardianship-certificate", "55")
	require.True(t, ok)
	// An application with a required field left empty: the engine's own problem texts.
	problems := p.CheckApplicationText(&applicationv1.Application{ServiceCode: p.Code, Region: p.Region,
		Channel: applicationv1.Channel_CHANNEL_PORTAL, ApplicantIin: applicantID, Fields: map[string]string{"applicant_iin": applicantID}})
	require.NotEmpty(t, problems)
	detail := catalog.JoinTexts(problems, "; ")
	require.NotEqual(t, detail.RU, detail.KK)
	tmpl := template.Must(template.New("").Funcs(channelweb.Funcs()).ParseFS(channelweb.Partials, "web/*.html"))

	for _, tc := range []struct {
		name          string
		comment       string
		text          *applicationv1.LocalizedText
		lang          string
		want, notWant string
	}{
		{"ok/kazakh page: the kazakh comment, no russian", detail.RU, &applicationv1.LocalizedText{Ru: detail.RU, Kk: detail.KK}, "kk", detail.KK, detail.RU},
		{"ok/russian page: the russian comment", detail.RU, &applicationv1.LocalizedText{Ru: detail.RU, Kk: detail.KK}, "ru", detail.RU, detail.KK},
		{"ok/an older РШЭП: the russian comment on either page", detail.RU, nil, "kk", detail.RU, detail.KK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.draft(t)
			ground := p.Refusals[0].Text
			require.NoError(t, f.desk.Handle(t.Context(), notification(t, &applicationv1.StatusNotification{ApplicationId: id,
				Status: applicationv1.CaseStatus_CASE_STATUS_REFUSED, Sequence: 1, Time: timestamppb.Now(), RefusalCode: p.Refusals[0].Code,
				Reason: &applicationv1.LocalizedText{Ru: ground.RU, Kk: ground.KK}, Comment: tc.comment, CommentText: tc.text})))
			ss, err := f.desk.Statuses(t.Context(), id)
			require.NoError(t, err)
			require.Equal(t, []string{"DRAFT", "REFUSED"}, f.statuses(t, id))

			var page bytes.Buffer
			require.NoError(t, tmpl.ExecuteTemplate(&page, "statuses", map[string]any{"Lang": tc.lang, "T": map[string]string{},
				"Data": map[string]any{"Statuses": ss}}))
			html := page.String()
			require.Contains(t, html, template.HTMLEscapeString(tc.want))
			require.NotContains(t, html, template.HTMLEscapeString(tc.notWant))
			if tc.lang == "kk" && tc.text != nil {
				require.Contains(t, html, template.HTMLEscapeString(ground.KK))
				require.NotContains(t, html, template.HTMLEscapeString(ground.RU))
			}
		})
	}
}

// TestDraftProblemsInTheCitizensLanguage: a draft the passport refuses comes back with its problems in
// the language of the page it was made on, nothing recorded.
func TestDraftProblemsInTheCitizensLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, lang, want, notWant string
	}{
		{"fail/a kazakh page: kazakh problems", "kk", "өрісі толтырылмаған", "не заполнено поле"},
		{"fail/a russian page: russian problems", "ru", "не заполнено поле", "өрісі толтырылмаған"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			_, err := f.desk.Draft(t.Context(), owner, &applicationv1.Application{ServiceCode: "guardianship-certificate", Region: "55",
				ApplicantIin: applicantID, Language: tc.lang, Fields: map[string]string{"applicant_iin": applicantID}})
			var pr applicant.Problems
			require.True(t, errors.As(err, &pr), "%v", err)
			joined := strings.Join(pr, "; ")
			require.Contains(t, joined, tc.want)
			require.NotContains(t, joined, tc.notWant)
			var n int
			require.NoError(t, f.db.QueryRow(t.Context(), `SELECT count(*) FROM applications`).Scan(&n))
			require.Zero(t, n, "nothing recorded")
		})
	}
}
