#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4/cmd/helm) at the version pinned here from the Go module proxy, once,
# and prints the binary's path. The chart tests and the end-to-end tests use it. Cached like the
# kube-apiserver builds (ETCD_TLS_GUARD_CACHE); the first run downloads the modules and compiles.
set -euo pipefail
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
version=${ETCD_TLS_GUARD_HELM_VERSION:-v4.3.2}
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}
out="$cache/helm-$version"
if [ ! -x "$out" ]; then
  start=$(date +%s)
  echo "building helm $version (first run only) ..." >&2
  mkdir -p "$cache"
  bin=$(mktemp -d)
  # helm version prints what the release build sets (Makefile: LDFLAGS += -X …/internal/version.version).
  GOBIN="$bin" GOFLAGS=-mod=mod go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
    "helm.sh/helm/v4/cmd/helm@$version" >&2
  mv "$bin/helm" "$out.tmp" && mv "$out.tmp" "$out" && rmdir "$bin"
  echo "built helm $version in $(( $(date +%s) - start )) s: $out" >&2
fi
echo "$out"
