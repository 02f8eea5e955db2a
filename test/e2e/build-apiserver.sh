#!/usr/bin/env bash
# Builds the upstream kube-apiserver, at the release that apiserver/go.mod pins, with the Go toolchain
# and the Go module proxy; prints the binary's path. The binary is cached (ETCD_TLS_GUARD_CACHE, default
# ~/.cache/etcd-tls-guard) and reused: only the first run compiles (a few minutes on 2 cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The Go toolchain as installed on these machines, when a non-login shell has no go on PATH.
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
version=$(cd "$here/apiserver" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}
out="$cache/kube-apiserver-$version"
if [ ! -x "$out" ]; then
  mkdir -p "$cache"
  start=$(date +%s)
  echo "building kube-apiserver $version (first run only) ..." >&2
  (cd "$here/apiserver" && go build -buildvcs=false -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$out.tmp" "$out"
  echo "built kube-apiserver $version in $(( $(date +%s) - start )) s: $out" >&2
fi
echo "$out"
