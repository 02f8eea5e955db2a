#!/bin/sh
# Installs the Node.js of the Docker image's runtime stage (the `node` npm package, pinned in
# package.json beside this script) unless that exact version is already here.
set -e
cd "$(dirname "$0")"
want="v$(node -p "require('./package.json').dependencies.node")"
have="$(node_modules/.bin/node -v 2>/dev/null || true)"
[ "$have" = "$want" ] || npm ci --no-audit --no-fund --loglevel=error
