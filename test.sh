#!/usr/bin/env bash
# Runs Zerkalo's whole test suite: formatting, go vet, staticcheck and every
# test (with the race detector), installing the tools it needs first.
# Usage: ./test.sh [extra go test flags, e.g. -run TestMirrorsPage -v]
set -euo pipefail
cd "$(dirname "$0")"

command -v go >/dev/null || { echo "test.sh: Go 1.26 or newer is needed (https://go.dev/doc/install)" >&2; exit 1; }
export PATH="$(go env GOPATH)/bin:$PATH"

if ! command -v staticcheck >/dev/null; then
  echo "== installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

echo "== gofmt"
unformatted=$(gofmt -l cmd proxy $(ls -d cache bench 2>/dev/null))
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
