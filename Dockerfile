# onduty in a container: built in one stage, run in another as a user without privileges,
# with its SQLite database on a volume.
#
#   docker build -t onduty .
#   docker run -d --name onduty -p 8080:8080 -v onduty-data:/var/lib/onduty onduty
#   docker logs onduty        # the first start prints the admin's token
#
# Settings come as ONDUTY_* environment variables, or from a file mounted with
# -v ./onduty.toml:/etc/onduty/onduty.toml:ro -e ONDUTY_CONFIG=/etc/onduty/onduty.toml

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p onduty

FROM debian:bookworm-slim
# ca-certificates: onduty calls providers over HTTPS; curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 onduty \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/onduty --create-home onduty \
    && mkdir -p /etc/onduty
COPY --from=build /src/target/release/onduty /usr/local/bin/onduty
USER 10001:10001
ENV ONDUTY_DATA_DIR=/var/lib/onduty \
    ONDUTY_LISTEN=0.0.0.0:8080 \
    ONDUTY_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
VOLUME ["/var/lib/onduty"]
EXPOSE 8080
# With [tls], set ONDUTY_HEALTHCHECK_URL=https://127.0.0.1:8080/healthz (checked with -k).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsSk "$ONDUTY_HEALTHCHECK_URL" || exit 1
# SIGTERM: onduty finishes requests, commits what it accepted and gives the engine up.
STOPSIGNAL SIGTERM
ENTRYPOINT ["onduty"]
CMD ["serve"]
