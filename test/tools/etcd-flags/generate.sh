#!/usr/bin/env bash
# Regenerates src/program-config/etcd-flags.ts: the flag set of each etcd minor release, measured on real etcd
# binaries where one can be had, read from the release's source where not. Not run by CI.
#   test/tools/etcd-flags/generate.sh
# - 3.3.27: from etcdmain/config.go of github.com/coreos/etcd v3.3.27 (module proxy). It cannot be
#   built from the proxy (it predates Go modules and pins its dependencies with glide).
# - 3.4.23: Debian's etcd-server binary (/usr/bin/etcd). The proxy does not serve etcd 3.4 modules.
# - 3.5, 3.6, 3.7: built from go.etcd.io/etcd/server/v3 at that release by build.sh (cached).
# Each real binary is probed flag by flag (probe.py): `etcd --NAME=VALUE --not-a-flag` stops at flag
# parsing whatever NAME is, so etcd never starts; the error it prints says whether NAME exists and
# what kind of value it takes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
built=()
IFS=, read -r -a pairs <<< "$(bash "$here/build.sh" ${ETCD_BUILT_RELEASES:-v3.5.35 v3.6.16 v3.7.3})"
for p in "${pairs[@]}"; do
  v=${p%%=*}
  src=$(go mod download -json "go.etcd.io/etcd/server/v3@v$v" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  built+=("$p=$src")
done
src33=$(go mod download -json github.com/coreos/etcd@v3.3.27+incompatible | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
command -v etcd >/dev/null || { echo "needs Debian's etcd-server (apt-get install etcd-server)" >&2; exit 1; }
python3 "$here/probe.py" "$repo/src/program-config/etcd-flags.ts" "$src33/etcdmain/config.go" "3.4.23=$(command -v etcd)" "${built[@]}"
