package cabinet

import (
	"net/http"

	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// mountApplications mounts «Мои заявления».
func (s *Site) mountApplications(mux *http.ServeMux) {
}

// afterReceive sends the citizen to the application's page.
func (s *Site) afterReceive(w http.ResponseWriter, r *http.Request, _ *user, _ *applicationv1.Application) {
	http.Redirect(w, r, "/applications", http.StatusSeeOther)
}
