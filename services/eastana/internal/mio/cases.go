package mio

import "net/http"

// home is the cabinet's first page: the kindergartens' places (the applications received come with
// the decision API).
func (c *Cabinet) home(w http.ResponseWriter, r *http.Request, _ *session) {
	http.Redirect(w, r, Prefix+"places", http.StatusSeeOther)
}
