package mio

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/webkit"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// The places of the kindergartens and the referrals: what the store keeps, shown and changed by the
// employee. Every change is one of the store's locked operations, so two employees releasing places of
// the same list at once take turns, each seeing the other's result.

func (c *Cabinet) places(w http.ResponseWriter, r *http.Request, s *session) {
	notice := ""
	if q := r.URL.Query(); q.Get("released") != "" {
		// Counts only: what a redirect after a release carries (no personal data in URLs).
		released, err1 := strconv.Atoi(q.Get("released"))
		offered, err2 := strconv.Atoi(q.Get("offered"))
		if err1 == nil && err2 == nil {
			notice = releasedText(webkit.Lang(r), released, offered)
		}
	}
	c.showPlaces(w, r, s, http.StatusOK, "", notice, nil)
}

func (c *Cabinet) showPlaces(w http.ResponseWriter, r *http.Request, s *session, status int, errText, notice string, typed map[string]string) {
	ks, err := c.o.Store.Kindergartens(r.Context())
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	c.render(w, r, "places.html", status, s, errText, notice, map[string]any{"Kindergartens": ks, "Typed": typed})
}

// release frees n occupied places of a group: children left the kindergarten. The store offers each
// place at once to the first fitting child; more places than are occupied is refused with the store's
// text and changes nothing.
func (c *Cabinet) release(w http.ResponseWriter, r *http.Request, s *session) {
	t := texts[webkit.Lang(r)]
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	typed := map[string]string{"group": r.PathValue("id"), "n": r.PostFormValue("n")}
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("n")))
	if err != nil || n <= 0 {
		c.showPlaces(w, r, s, http.StatusUnprocessableEntity, t["err_release_n"], "", typed)
		return
	}
	offers, err := c.o.Store.Release(r.Context(), id, n, s.IIN, c.o.Now())
	if err != nil {
		msg, ok := userError(r, err)
		if !ok {
			c.site.Fail(w, r, err)
			return
		}
		status := http.StatusUnprocessableEntity
		if errors.Is(err, store.ErrNoGroup) {
			status = http.StatusNotFound
		}
		c.showPlaces(w, r, s, status, msg, "", typed)
		return
	}
	c.o.Log.InfoContext(r.Context(), "mio: places released", "group", id, "places", n, "referrals", len(offers), "iin", iin.Mask(s.IIN))
	http.Redirect(w, r, Prefix+"places?"+url.Values{"released": {strconv.Itoa(n)}, "offered": {strconv.Itoa(len(offers))}}.Encode(),
		http.StatusSeeOther)
}

func (c *Cabinet) referrals(w http.ResponseWriter, r *http.Request, s *session) {
	notice := ""
	switch r.URL.Query().Get("done") {
	case "enroll":
		notice = texts[webkit.Lang(r)]["done_enroll"]
	case "decline":
		notice = texts[webkit.Lang(r)]["done_decline"]
	}
	c.showReferrals(w, r, s, http.StatusOK, "", notice)
}

func (c *Cabinet) showReferrals(w http.ResponseWriter, r *http.Request, s *session, status int, errText, notice string) {
	rs, err := c.o.Store.Referrals(r.Context(), 500)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	c.render(w, r, "referrals.html", status, s, errText, notice, map[string]any{"Referrals": rs, "Now": c.o.Now()})
}

// closeReferral records what became of a referral: registered at the kindergarten (the place is
// occupied) or declined by the parents (the place goes to the next fitting child).
func (c *Cabinet) closeReferral(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	act := r.PathValue("act")
	if err != nil || (act != "enroll" && act != "decline") {
		http.NotFound(w, r)
		return
	}
	now := c.o.Now()
	if act == "enroll" {
		err = c.o.Store.Enroll(r.Context(), id, now)
	} else {
		_, err = c.o.Store.Decline(r.Context(), id, s.IIN, now)
	}
	if err != nil {
		msg, ok := userError(r, err)
		if !ok {
			c.site.Fail(w, r, err)
			return
		}
		status := http.StatusConflict
		if errors.Is(err, store.ErrNoOffer) {
			status = http.StatusNotFound
		}
		c.showReferrals(w, r, s, status, msg, "")
		return
	}
	c.o.Log.InfoContext(r.Context(), "mio: referral closed", "referral", id, "act", act, "iin", iin.Mask(s.IIN))
	http.Redirect(w, r, Prefix+"referrals?done="+act, http.StatusSeeOther)
}

func (c *Cabinet) childForm(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, "child.html", http.StatusOK, s, "", "", map[string]any{})
}

// child shows a child's place by its IIN (posted, so that the IIN stays out of URLs and logs): its
// latest entry, the number and how many of its kind wait before it, its referrals and its changes.
func (c *Cabinet) child(w http.ResponseWriter, r *http.Request, s *session) {
	t := texts[webkit.Lang(r)]
	childIIN := digits(r.PostFormValue("iin"))
	data := map[string]any{"IIN": childIIN}
	if len(childIIN) != 12 || strings.Trim(childIIN, "0123456789") != "" {
		c.render(w, r, "child.html", http.StatusUnprocessableEntity, s, t["err_iin"], "", data)
		return
	}
	id, err := c.o.Store.EntryOfChild(r.Context(), childIIN)
	if errors.Is(err, store.ErrNoEntry) {
		c.render(w, r, "child.html", http.StatusNotFound, s, t["err_no_entry"], "", data)
		return
	}
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	pos, err := c.o.Store.Position(r.Context(), id)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	events, err := c.o.Store.Events(r.Context(), id)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	refs, err := c.o.Store.ReferralsOf(r.Context(), id)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	data["Position"], data["Events"], data["Referrals"], data["Now"] = pos, events, refs, c.o.Now()
	c.render(w, r, "child.html", http.StatusOK, s, "", "", data)
}
