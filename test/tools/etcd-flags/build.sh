#!/usr/bin/env bash
# Builds real etcd servers of the given releases (default: those the flag table was measured on, past
# 3.4) from go.etcd.io/etcd/server/v3 with main.go beside this script (etcdmain.Main, the etcd binary's
# own entry point), cached in $ETCD_TLS_GUARD_CACHE (default ~/.cache/etcd-tls-guard). Prints
# RELEASE=PATH,... for ETCD_TLS_GUARD_ETCD_BINARIES (test/program-config/etcd-binary.test.ts). A few minutes per
# release on the first run; nothing after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "etcd-flags/build.sh: needs the Go toolchain (to build real etcd releases for the conformance tests)" >&2; exit 1; }
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}/etcd-flags
mkdir -p "$cache"
out=()
for v in "${@:-v3.5.35 v3.6.16 v3.7.3}"; do
  for w in $v; do
    bin="$cache/etcd-$w"
    if [ ! -x "$bin" ]; then
      d="$cache/src-$w"; mkdir -p "$d"; cp "$here/main.go" "$d/"
      printf 'module etcdprobe\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$w" > "$d/go.mod"
      start=$(date +%s)
      (cd "$d" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 && go build -buildvcs=false -trimpath -o "$bin.tmp" . && mv "$bin.tmp" "$bin")
      echo "built etcd $w in $(( $(date +%s) - start )) s: $bin" >&2
    fi
    out+=("${w#v}=$bin")
  done
done
(IFS=,; echo "${out[*]}")
