#!/usr/bin/env bash
# Writes DIR/go.mod for a Go module named NAME that builds against k8s.io/kubernetes at VERSION, as
# the flag-table generator and the end-to-end kube-apiserver build both need:
#   test/tools/kubernetes-module.sh DIR NAME VERSION
# k8s.io/kubernetes maps its staging modules to ./staging; outside the repo they are published as
# v0.MINOR.PATCH. A staging module the proxy does not serve at that version is replaced by an empty
# stub (DIR/stub/...): if what is built imported it, the build would fail and say so.
# Expects GONOSUMDB=k8s.io (the checksum database does not answer for every old staging release here).
set -euo pipefail
dir=$1 name=$2 version=$3
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
minor=$(echo "$version" | cut -d. -f2); patch=$(echo "$version" | cut -d. -f3)
mkdir -p "$dir"
[ -f "$dir/go.mod" ] || printf 'module %s\n\ngo 1.24\n' "$name" > "$dir/go.mod"
src=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
{
  printf 'module %s\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$name" "$version"
  for m in $(grep -E '=> \./staging' "$src/go.mod" | awk '{print $1}'); do
    if go mod download "$m@v0.$minor.$patch" >/dev/null 2>&1; then
      printf '\t%s => %s v0.%s.%s\n' "$m" "$m" "$minor" "$patch"
    else
      stub="$dir/stub/${m#k8s.io/}"; mkdir -p "$stub"; printf 'module %s\n' "$m" > "$stub/go.mod"
      printf '\t%s => ./stub/%s\n' "$m" "${m#k8s.io/}"
      echo "kubernetes $version: $m v0.$minor.$patch is not served; stubbed" >&2
    fi
  done
  printf ')\n'
} > "$dir/go.mod.tmp"
mv "$dir/go.mod.tmp" "$dir/go.mod"
