#!/usr/bin/env bash
# Builds kubemark (k8s.io/kubernetes/cmd/kubemark) of the release test/e2e/apiserver/go.mod pins,
# from a module made in the cache as build-apiserver.sh makes one for other releases; prints the
# binary's path. Its hollow node (--morph=kubelet) is the real kubelet code with a fake container
# runtime (CRI) and a real static pod directory. Cached (ETCD_TLS_GUARD_CACHE); the first run compiles.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
version=${1:-$(cd "$here/apiserver" && go list -m -f '{{.Version}}' k8s.io/kubernetes)}
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}
out="$cache/kubemark-$version"
if [ ! -x "$out" ]; then
  start=$(date +%s)
  echo "building kubemark $version (first run only) ..." >&2
  src="$cache/kubemark-src/$version"
  rm -rf "$src" && mkdir -p "$src"
  export GONOSUMDB=k8s.io GOFLAGS=-mod=mod
  "$here/../tools/kubernetes-module.sh" "$src" e2ekubemark "$version"
  (cd "$src" && go build -buildvcs=false -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version" -o "$out.tmp" k8s.io/kubernetes/cmd/kubemark)
  mv "$out.tmp" "$out"
  echo "built kubemark $version in $(( $(date +%s) - start )) s: $out" >&2
fi
echo "$out"
