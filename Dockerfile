# The headless router for servers: `docker build -t ninerouter .` (see README, "Packages and
# releases"). The desktop shell is not built here.
FROM node:20-bookworm AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm install --no-audit --no-fund --loglevel=error
COPY ui/ ./
RUN npm run build

FROM rust:1-bookworm AS engine
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libdbus-1-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
# Build settings (SQLite's compile options) live there.
COPY .cargo ./.cargo
COPY src-tauri/Cargo.toml src-tauri/Cargo.toml
COPY src ./src
COPY benches ./benches
# The workspace names the shell crate; only its manifest is needed to build the engine.
RUN mkdir -p src-tauri/src && echo 'fn main() {}' > src-tauri/src/main.rs && touch src-tauri/src/lib.rs
COPY --from=ui /src/ui/dist ./ui/dist
RUN cargo build --release --locked --bin ninerouter

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libdbus-1-3 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /data ninerouter \
    && mkdir -p /data && chown ninerouter /data
COPY --from=engine /src/target/release/ninerouter /usr/local/bin/ninerouter
USER ninerouter
ENV NINEROUTER_DATA_DIR=/data NINEROUTER_SECRETS=file NINEROUTER_HOST=0.0.0.0
VOLUME /data
EXPOSE 20128
ENTRYPOINT ["ninerouter", "serve"]
