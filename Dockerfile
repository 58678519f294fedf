# mlwatch exporter image. Three stages so the runtime image holds only production dependencies and dist/:
#   build     - every dependency, compiles src/ to dist/ with tsc
#   prod-deps - production dependencies only, installed with --ignore-scripts
#   runtime   - package.json + prod node_modules + dist/ + bin/, running as the non-root `node` user
#
# Base: node:22.23.3-bookworm-slim, Node 22 LTS (maintained until April 2027; Node 20 reached end of life on
# 2026-04-30). Pinned to the patch release so a build is repeatable; a Node update is a change of all three
# FROM lines. CI runs the tests on the machine's Node and the embedded-engine pass again on this one
# (scripts/install-node-image.sh reads the version from here); 24, the newer LTS line, is one FROM change away.

FROM node:22.23.3-bookworm-slim AS build
WORKDIR /app
# Manifests first: the dependency layer is reused until package.json or the lock file changes.
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the tsc build) would run here, before the sources are copied. It runs
# explicitly below, with the same command (`npm run build` = tsc -p tsconfig.build.json).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22.23.3-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# A separate install instead of `npm prune --omit=dev` in the build stage: `prepare` must not run again
# (it needs tsc, a dev dependency), and no runtime dependency needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:22.23.3-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the `node` user can read the app but not rewrite it.
# dist/version.js reads ../package.json (`mlwatch --version`, the landing page, the exporter's own metrics).
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# `serve` reads its config here by default: mount a directory holding mlwatch.yaml (see docs/docker.md).
# The chmod covers a checkout made with a strict umask: COPY keeps the context's permission bits.
RUN mkdir -p /etc/mlwatch && chmod -R a+rX /app/package.json /app/bin
USER node
EXPOSE 10027
# Slim images have no curl or wget; Node's built-in fetch does the probe. /healthz answers 200 while the
# process serves HTTP (readiness is /readyz). The port is the default one: change it here if you pass --port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:10027/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/mlwatch.js"]
CMD ["serve", "--config", "/etc/mlwatch/mlwatch.yaml", "--host", "0.0.0.0"]
