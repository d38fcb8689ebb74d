#!/bin/sh
# What `make demo` (scripts/deps.sh demo) and `make test` (scripts/deps.sh
# test) need from the machine. Silent when everything is there. As root on
# Debian/Ubuntu it apt-get installs what is missing; otherwise it stops with
# one line naming what is missing and the command that installs it.
set -eu

goal=${1:-test}
go_cmd=${GO:-go}

missing="" # what is missing, for people
pkgs=""    # the Debian packages that provide it

has() { command -v "$1" >/dev/null 2>&1; }
lack() { missing="$missing${missing:+, }$1"; shift; pkgs="$pkgs $*"; }

# The same search as pgembed.FindBinDir: $WALRELAY_PG_BIN, PATH, the usual
# install directories.
pg_bin_ok() {
  for d in ${WALRELAY_PG_BIN:-$(dirname "$(command -v initdb || echo /none/initdb)") /usr/lib/postgresql/*/bin /usr/local/opt/postgresql*/bin /usr/pgsql-*/bin}; do
    [ -f "$d/initdb" ] && [ -f "$d/pg_ctl" ] && [ -f "$d/postgres" ] && return 0
  done
  return 1
}

# The same candidates as e2e/lib/browser.mjs.
chromium_ok() {
  for c in ${CHROMIUM_PATH:-} /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -x "$c" ] && return 0
  done
  return 1
}

check() {
  missing="" pkgs=""
  if [ -n "${WALRELAY_PG_BIN:-}" ] && ! pg_bin_ok; then
    echo "deps: WALRELAY_PG_BIN=$WALRELAY_PG_BIN has no initdb, pg_ctl and postgres; point it at PostgreSQL's bin directory or unset it" >&2
    exit 1
  fi
  pg_bin_ok || lack "PostgreSQL server binaries (initdb, pg_ctl)" postgresql
  # PostgreSQL refuses to run as root: the tests and the demo run it as "postgres".
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1 && pg_bin_ok; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
  fi
  has node || lack "Node.js" nodejs
  has npm || lack "npm" npm
  if [ "$goal" = test ]; then
    # The race detector needs cgo: a C compiler and the C library headers.
    echo 'int main(void){return 0;}' | gcc -x c -o /dev/null - >/dev/null 2>&1 ||
      lack "a C compiler for go test -race (gcc)" gcc libc6-dev
    chromium_ok || lack "Chromium (/usr/bin/chromium) for the browser tests" chromium
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || lack "fonts for Chromium (DejaVu)" fonts-dejavu-core
  fi
  [ -z "$missing" ]
}

if ! has "$go_cmd"; then
  echo "deps: missing Go 1.26 or newer ($go_cmd); install it from https://go.dev/dl/" >&2
  exit 1
fi

if ! check; then
  if [ "$(id -u)" != 0 ] || ! has apt-get; then
    if has apt-get; then
      echo "deps: missing $missing; install with: sudo apt-get install -y --no-install-recommends$pkgs" >&2
    else
      echo "deps: missing $missing; install with your package manager (Debian names:$pkgs)" >&2
    fi
    exit 1
  fi
  echo "deps: missing $missing; installing: apt-get install$pkgs"
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps: apt-get install$pkgs failed (output above)" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  if ! check; then
    echo "deps: still missing $missing after apt-get install$pkgs" >&2
    exit 1
  fi
fi

# Vite 7 needs Node.js 20.19 or newer; older ones fail the build with less clear errors.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "deps: Node.js $(node --version) is too old, 20.19 or newer is needed; see https://nodejs.org/en/download" >&2
  exit 1
fi
