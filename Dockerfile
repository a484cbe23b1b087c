# syntax=docker/dockerfile:1
# The llmtrace-storage CLI as an image, for running migrations as a job before a deploy:
#   docker build -t llmtrace-storage .                               # production profile only (no embedded engine)
#   docker build --build-arg WITH_CHDB=true -t llmtrace-storage:lite .  # with chDB (~540 MB) for the lite profile
#   docker run --rm -e LLMTRACE_STORAGE_PROFILE=production -e LLMTRACE_CLICKHOUSE_URL=... llmtrace-storage migrate
ARG NODE_VERSION=22

# Stage 1: install from the lockfile, compile, pack the package exactly as npm publishes it.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The compiler needs no embedded engine; `--ignore-scripts` because the build (prepare) runs below, explicitly.
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json LICENSE README.md ./
COPY src ./src
RUN mkdir /pack && npm run build && npm pack --ignore-scripts --pack-destination /pack

# Stage 2: the packed tarball installed as an application installs it, without dev dependencies (and without
# the optional embedded engine unless WITH_CHDB=true). effect and @effect/* are peer dependencies of the package,
# which npm installs with it; `npm ci --omit=dev` on this repository would leave them out (npm flags a root's
# peer+dev packages as dev), so the image installs the package, not the repository.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG WITH_CHDB=false
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /pack /pack
RUN echo '{"name":"llmtrace-storage-image","private":true}' > package.json \
 && if [ "$WITH_CHDB" = "true" ]; then omit="--omit=dev"; else omit="--omit=dev --omit=optional"; fi \
 && npm install $omit --no-audit --no-fund /pack/llmtrace-storage-*.tgz \
 && rm -rf /pack /root/.npm \
 && find node_modules/llmtrace-storage -name '*.map' -delete \
 && rm -rf node_modules/llmtrace-storage/src
ENV PATH=/app/node_modules/.bin:$PATH
# A non-root user; the lite profile's data directory is the working directory, owned by it.
RUN groupadd --system llmtrace && useradd --system --gid llmtrace --create-home --home-dir /data llmtrace
USER llmtrace
WORKDIR /data
ENV LLMTRACE_DATA_DIR=/data/.llmtrace
# No HEALTHCHECK: every command runs once and exits.
ENTRYPOINT ["llmtrace-storage"]
CMD ["--help"]
