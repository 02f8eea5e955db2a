#!/usr/bin/env bash
# npm run test:e2e — the end-to-end tests against a real kube-apiserver, then the container image.
# Installs what they need when it is missing: Debian's etcd-server (apt-get, as root), kube-apiserver
# built from the k8s.io/kubernetes Go module (cached after the first build); test/image/build.sh
# installs buildah, podman, runc and debootstrap. Runs them (dist/ must be built).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v etcd >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
fi
command -v kubectl >/dev/null 2>&1 || { echo "test:e2e needs kubectl on PATH" >&2; exit 1; }
# The Kubernetes releases to run against: ETCD_TLS_GUARD_E2E_VERSIONS (space-separated); by default the
# one test/e2e/apiserver/go.mod pins. .ci/run sets the oldest the chart supports, the pinned one and the
# newest served by the module proxy.
versions=${ETCD_TLS_GUARD_E2E_VERSIONS:-pinned}
for v in $versions; do
  release=$([ "$v" = pinned ] && echo "" || echo "$v")
  path=$(test/e2e/build-apiserver.sh $release)
  echo "End-to-end tests against $("$path" --version)" >&2
  ETCD_TLS_GUARD_E2E_KUBERNETES=$release node_modules/.bin/mocha --config test/e2e/mocharc.json
done
# The container image: the Dockerfile built unchanged (a locally assembled base, cached) and run
# read-only with every capability dropped (test/image/). Once, whatever the Kubernetes releases.
image=$(bash test/image/build.sh)
ETCD_TLS_GUARD_IMAGE=$image node_modules/.bin/mocha --config test/image/mocharc.json
