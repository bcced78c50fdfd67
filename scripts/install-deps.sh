#!/usr/bin/env bash
# Installs what the tests need and a fresh Debian machine lacks: the PostgreSQL server binaries (for the
# throw-away clusters of the tests and egov dev), openssl (the tests check the suite's signatures with
# it), poppler-utils (pdftotext and pdftoppm read the printed results and receipts back in the tests),
# Chromium (the browser tests of the portal, the ЦОН desk and АРМ drive it headless) and Docker Engine
# (the container mode of the integration tests runs every service as a container of the suite's image). As
# root with apt-get it installs them and starts dockerd when it is not running; otherwise it names what to
# install and fails. EGOV_CONTAINERS=off leaves Docker out (the integration tests then use processes only).
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
want_docker() { [ "${EGOV_CONTAINERS:-}" != off ]; }
have_docker() { command -v dockerd >/dev/null; }
if want_docker && ! have_docker; then missing+=(docker.io); fi

# start_docker starts Docker Engine in the background when its socket does not answer, and waits for it:
# a machine (or a CI container) without an init system does not start the daemon the package installed.
start_docker() {
  want_docker || return 0
  docker info >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: Docker Engine is installed but not running; start it (sudo systemctl start docker)," >&2
    echo "or set EGOV_CONTAINERS=off to run the integration tests as processes only." >&2
    exit 1
  fi
  echo "install-deps: starting dockerd (log: /var/log/egov-dockerd.log)"
  nohup dockerd >/var/log/egov-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "install-deps: dockerd did not answer within a minute; see /var/log/egov-dockerd.log" >&2
  exit 1
}

if [ ${#missing[@]} -eq 0 ]; then
  start_docker
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
  if want_docker; then
    have_docker || { echo "install-deps: docker.io installed but dockerd not on PATH" >&2; exit 1; }
  fi
  start_docker
  exit 0
fi
echo "install-deps: missing ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})," >&2
echo "or set PG_BIN to the folder holding initdb and pg_ctl, and EGOV_CHROMIUM to a Chromium or Chrome binary" >&2
echo "(and EGOV_CONTAINERS=off to run the integration tests without Docker)." >&2
exit 1
