#!/usr/bin/env bash
# Builds test/e2e/cert-manager/main.go against github.com/cert-manager/cert-manager $VERSION (cached
# in $ETCD_TLS_GUARD_CACHE) and prints the binary's path; the module's own CRDs (deploy/crds) are
# copied beside it, in PATH-crds/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
version=${1:-v1.21.2}
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}/cert-manager
bin="$cache/cert-manager-e2e-$version"
if [ ! -x "$bin" ] || [ "$here/main.go" -nt "$bin" ]; then
  d="$cache/src-$version"; mkdir -p "$d"; cp "$here/main.go" "$d/"
  printf 'module certmanagere2e\n\ngo 1.25\n\nrequire github.com/cert-manager/cert-manager %s\n' "$version" > "$d/go.mod"
  start=$(date +%s)
  (cd "$d" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 && go build -buildvcs=false -trimpath -o "$bin.tmp" . && mv "$bin.tmp" "$bin")
  echo "built cert-manager-e2e $version in $(( $(date +%s) - start )) s" >&2
fi
# cert-manager's own CRDs, from the same module, beside the binary.
if [ ! -d "$bin-crds" ]; then
  mod=$(cd "$cache/src-$version" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)
  mkdir -p "$bin-crds.tmp" && cp "$mod"/deploy/crds/cert-manager.io_*.yaml "$mod"/deploy/crds/acme.cert-manager.io_*.yaml "$bin-crds.tmp/" && mv "$bin-crds.tmp" "$bin-crds"
fi
echo "$bin"
