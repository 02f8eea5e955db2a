# syntax=docker/dockerfile:1
#
# etcd-tls-guard webhook image. Build: docker build -t etcd-tls-guard .
# The Node.js major here is the one CI also runs the test suite on (test/runtime-node/package.json).

# --- build: compile TypeScript with the dev dependencies ---
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: `prepare` compiles, and the sources are not here yet.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY src ./src
RUN npm run build

# --- deps: production dependencies only ---
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# --- runtime: Node.js, production dependencies and dist/src; nothing else ---
FROM node:24-bookworm-slim AS runtime
# OCI annotations (opencontainers image-spec annotations.md). VERSION is package.json's (a test keeps
# them equal); build with --build-arg VERSION=… --build-arg REVISION=$(git rev-parse HEAD).
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="etcd-tls-guard" \
      org.opencontainers.image.description="Validating admission webhook that enforces the CIS Kubernetes Benchmark etcd TLS controls" \
      org.opencontainers.image.source="https://github.com/etcd-tls-guard/etcd-tls-guard" \
      org.opencontainers.image.url="https://github.com/etcd-tls-guard/etcd-tls-guard" \
      org.opencontainers.image.documentation="https://github.com/etcd-tls-guard/etcd-tls-guard#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# The CLI reads its version from package.json.
COPY package.json ./
# A numeric non-root user, so that runAsNonRoot can be verified by the kubelet.
USER 65532:65532
# 8443: the webhook (HTTPS); 9090: Prometheus metrics (HTTP).
EXPOSE 8443 9090
# No dev certificates in the image: mount the serving certificate and point
# ETCD_TLS_GUARD_TLS_CERT_FILE / ETCD_TLS_GUARD_TLS_KEY_FILE at it (the Helm chart does).
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["serve"]
