#!/usr/bin/env bash
# Installs what the tests need and a fresh Debian machine lacks: the PostgreSQL server binaries (for the
# throw-away clusters of the tests and egov dev), openssl (the tests check the suite's signatures with
# it), poppler-utils (pdftotext and pdftoppm read the printed results and receipts back in the tests) and
# Chromium (the browser tests of the portal, the ЦОН desk and АРМ drive it headless). As root
# with apt-get it installs them; otherwise it names what to install and fails.
set -euo pipefail

missing=()
have_pg() {
  [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ] && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null
}
have_pg || missing+=(postgresql)
command -v openssl >/dev/null || missing+=(openssl)
command -v git >/dev/null || missing+=(git)
{ command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null; } || missing+=(poppler-utils)
have_chromium() {
  [ -n "${EGOV_CHROMIUM:-}" ] && [ -x "$EGOV_CHROMIUM" ] && return 0
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null
}
have_chromium || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package's own cluster is not used: the suite makes its own. Stop it if the package started it.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done
  fi
  have_pg || { echo "install-deps: postgresql installed but initdb not found" >&2; exit 1; }
  have_chromium || { echo "install-deps: chromium installed but not on PATH" >&2; exit 1; }
  exit 0
fi
echo "install-deps: missing ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})," >&2
echo "or set PG_BIN to the folder holding initdb and pg_ctl, and EGOV_CHROMIUM to a Chromium or Chrome binary." >&2
exit 1
