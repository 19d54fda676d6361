# syntax=docker/dockerfile:1
# Multi-stage build of the `stratbox` host and the bundled strategy components.
#   docker build -t stratbox .
# The runtime image holds only the binary, the components, the bundled data and the
# service config; it runs as an unprivileged user with its state in /var/lib/stratbox.

# The web console (web/): built first, embedded into the binary at compile time.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-unknown-unknown
COPY . .
COPY --from=web /src/web/dist web/dist
COPY --from=web /src/web/dist-report web/dist-report
# Components first (guest build), then the host in release.
RUN cargo xtask plugins \
 && cargo build --release --locked --package stratbox \
 && mkdir -p /out/plugins \
 && cp target/release/stratbox /out/ \
 && cp target/plugins/*.wasm /out/plugins/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/stratbox --create-home stratbox
COPY --from=build /out/stratbox /usr/local/bin/stratbox
COPY --from=build /out/plugins /opt/stratbox/plugins
COPY data /opt/stratbox/data
COPY deploy/service.toml /etc/stratbox/service.toml
USER stratbox
WORKDIR /var/lib/stratbox
ENV STRATBOX_CONFIG=/etc/stratbox/service.toml \
    STRATBOX_JSON_LOGS=true
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
# SIGTERM: stop intake, snapshot every session's state, flush the audit trail.
STOPSIGNAL SIGTERM
ENTRYPOINT ["stratbox"]
CMD ["serve"]
