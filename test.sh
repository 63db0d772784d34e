#!/usr/bin/env bash
# Runs Zerkalo's whole test suite: formatting, go vet, staticcheck and every
# test (with the race detector), installing the tools it needs first.
# Usage: ./test.sh [extra go test flags, e.g. -run TestMirrorsPage -v]
set -euo pipefail
cd "$(dirname "$0")"

command -v go >/dev/null || { echo "test.sh: Go 1.26 or newer is needed (https://go.dev/doc/install)" >&2; exit 1; }
export PATH="$(go env GOPATH)/bin:$PATH"

# Debian packages the tests drive for real: systemd-analyze (unit checks),
# pebble (ACME), chromium (browser privacy proof), minisign (signatures).
missing=""
command -v systemd-analyze >/dev/null || missing="$missing systemd"
command -v pebble >/dev/null || [ -x /usr/bin/pebble ] || missing="$missing pebble"
command -v chromium >/dev/null || missing="$missing chromium"
command -v minisign >/dev/null || missing="$missing minisign"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "test.sh: these Debian packages are needed:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 1
  fi
fi

if ! command -v staticcheck >/dev/null; then
  echo "== installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

echo "== gofmt"
unformatted=$(gofmt -l cmd proxy cache deploy $(ls -d bench 2>/dev/null))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
staticcheck ./...

echo "== go test -race"
go test -race -count=1 -timeout 20m "$@" ./...
