#!/usr/bin/env bash
# Builds promtool (github.com/prometheus/prometheus/cmd/promtool) at the version pinned here from the
# Go module proxy, once, and prints the binary's path. The chart tests check the PrometheusRule with
# it (`promtool check rules`, `promtool test rules`). Cached like Helm and the kube-apiserver builds.
# The module's versions are v0.MINOR.PATCH for Prometheus 3.MINOR.PATCH: v0.316.0 is Prometheus 3.16.0.
set -euo pipefail
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
version=${ETCD_TLS_GUARD_PROMTOOL_VERSION:-v0.316.0}
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}
out="$cache/promtool-$version"
if [ ! -x "$out" ]; then
  start=$(date +%s)
  echo "building promtool $version (first run only) ..." >&2
  mkdir -p "$cache"
  bin=$(mktemp -d)
  GOBIN="$bin" GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/prometheus/prometheus/cmd/promtool@$version" >&2
  mv "$bin/promtool" "$out.tmp" && mv "$out.tmp" "$out" && rmdir "$bin"
  echo "built promtool $version in $(( $(date +%s) - start )) s: $out" >&2
fi
echo "$out"
