#!/usr/bin/env bash
# Builds the upstream kube-apiserver with the Go toolchain and the Go module proxy; prints the binary's
# path. Without an argument: the release test/e2e/apiserver/go.mod pins (its go.sum verifies every
# module). With one (`v1.30.14`): that release, from a module made in the cache the same way — it
# requires k8s.io/kubernetes at that version and maps its staging modules (./staging in the repo) to
# their published v0.MINOR.PATCH; a staging module the proxy does not serve is replaced by an empty
# stub (if kube-apiserver imported it, the build would fail and say so). Binaries are cached
# (ETCD_TLS_GUARD_CACHE, default ~/.cache/etcd-tls-guard); only the first run compiles (about five
# minutes per release on 2 cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The Go toolchain as installed on these machines, when a non-login shell has no go on PATH.
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
pinned=$(cd "$here/apiserver" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
version=${1:-$pinned}
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}
out="$cache/kube-apiserver-$version"
if [ ! -x "$out" ]; then
  mkdir -p "$cache"
  start=$(date +%s)
  echo "building kube-apiserver $version (first run only) ..." >&2
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version"
  if [ "$version" = "$pinned" ]; then
    (cd "$here/apiserver" && go build -buildvcs=false -trimpath -ldflags "$ldflags" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  else
    src="$cache/apiserver-src/$version"
    rm -rf "$src" && mkdir -p "$src"
    # The checksum database is not reachable for every old k8s.io staging release through this proxy;
    # the module proxy's content is still what go records in go.sum.
    export GONOSUMDB=k8s.io GOFLAGS=-mod=mod
    "$here/../tools/kubernetes-module.sh" "$src" e2eapiserver "$version"
    (cd "$src" && go build -buildvcs=false -trimpath -ldflags "$ldflags" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  fi
  mv "$out.tmp" "$out"
  echo "built kube-apiserver $version in $(( $(date +%s) - start )) s: $out" >&2
fi
echo "$out"
