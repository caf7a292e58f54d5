# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/install-schema-engine.mjs scripts/prisma-generate.mjs scripts/build-templates.mjs scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma prisma
COPY templates templates
COPY src src
RUN npm run build

# Production dependencies only (the postinstall step places Prisma's WebAssembly schema engine). Optional ones are
# left out too: @prisma/client and @prisma/internals name the prisma CLI and typescript as optional peers, which npm
# otherwise installs (with Prisma Studio, React and mysql2: ~200 MB the service never loads).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/install-schema-engine.mjs scripts/
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund

FROM node:24-bookworm-slim
# MALLOC_ARENA_MAX: glibc gives each thread that allocates (V8's compiler and GC helpers, libuv's pool) an arena of its
# own, up to eight per core, and keeps what they freed; two arenas held the broker's malloc memory after the
# benchmark's HTTP rows to 29 MiB instead of 34-47, at no CPU cost the rows could see (bench/profile-notes.md).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/dist dist
COPY --chown=root:root package.json ./
COPY --chown=root:root prisma/migrations prisma/migrations
COPY --chown=root:root templates templates
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# migrations are applied by the service at start; node is PID 1 and handles SIGTERM itself (graceful close).
# Node flags, measured by `npm run bench` (its rows "as the image runs it", beside Node's defaults; with the ENV above;
# bench/profile-notes.md):
# Node 24's V8 lets the young generation grow to 128 MiB under load and the old one to about three times what is live
# before collecting it; at 4 MiB per semi-space and a heap allowed to grow half again over what is live, the broker
# held about 160 MiB after the HTTP rows instead of 220-300, for up to a third more CPU per request.
# --enable-source-maps is left out: beside these flags it cost the broker 1.5-2x the CPU per request; without it a
# stack trace names the compiled file, dist/<path>.js for src/<path>.ts.
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "dist/server.js"]
