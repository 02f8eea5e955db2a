#!/usr/bin/env bash
# The report CRDs exactly as their projects ship them, from the Go module proxy (no registry or
# GitHub is reachable here), once, cached like the Helm and kube-apiserver builds; prints the
# directory holding them:
#   openreports.io  Report, ClusterReport          github.com/openreports/reports-api config/crd
#   wgpolicyk8s.io  PolicyReport, ClusterPolicyReport  github.com/kyverno/kyverno config/crds/policyreport
#                   (what Kyverno installs; the Policy WG's own repository is not a served module)
set -euo pipefail
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
openreports=${ETCD_TLS_GUARD_OPENREPORTS_VERSION:-v0.2.1}
kyverno=${ETCD_TLS_GUARD_KYVERNO_VERSION:-v1.19.1}
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}
out="$cache/report-crds-openreports-$openreports-kyverno-$kyverno"
if [ ! -f "$out/done" ]; then
  mkdir -p "$out"
  dir_of() { (cd "$out" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
  or=$(dir_of "github.com/openreports/reports-api@$openreports")
  ky=$(dir_of "github.com/kyverno/kyverno@$kyverno")
  cp "$or/config/crd/openreports.io_reports.yaml" "$or/config/crd/openreports.io_clusterreports.yaml" "$out/"
  cp "$ky/config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml" "$ky/config/crds/policyreport/wgpolicyk8s.io_clusterpolicyreports.yaml" "$out/"
  touch "$out/done"
fi
echo "$out"
