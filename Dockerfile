# Bastion's container image. A build stage compiles only the `bastion` binary
# with Debian 12's toolchain and -dev packages; the runtime stage holds the
# shared libraries it links and nothing else, and runs as an unprivileged user.
#
#   docker build -t bastion:latest .
#
# The runtime stage comes first so it can be built alone for a binary already
# built on a Debian 12 host (as the compose test does with the build it tests):
#
#   docker build --target runtime -t bastion-runtime .
#   printf 'FROM bastion-runtime\nCOPY bastion /usr/local/bin/bastion\n' | docker build -t bastion:latest -f - DIR_WITH_BINARY
#   docker run --rm -p 127.0.0.1:8080:8080 -v $PWD/bastion.yaml:/etc/bastion/bastion.yaml:ro bastion:latest
#
# The base is Debian 12. Where no registry is reachable, `scripts/docker-base`
# builds one with debootstrap and imports it under this tag.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS runtime
# Exactly the libraries `ldd bastion` names: OpenSSL (libc is in the base; the
# rest is linked into the binary, BASTION_STATIC_DEPS: docs/operations.md,
# "Libraries", lists what a binary built with it OFF needs here), and
# bubblewrap for upstreams started inside the container where user
# namespaces are allowed (where they are not, as in a default Docker
# container, a stdio server that names no runtime is refused: give it
# `runtime: process` explicitly, or run it in its own container and reach it
# by `url:` as docker-compose.yml does).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 bubblewrap \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/bastion \
      --shell /usr/sbin/nologin bastion \
 && install -d -o bastion -g bastion -m 0700 /var/lib/bastion \
 && install -d -m 0755 /etc/bastion
USER bastion
# Keys, secrets and the audit log (mount a volume here).
ENV BASTION_DATA_DIR=/var/lib/bastion
VOLUME /var/lib/bastion
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=5s --start-period=5s --retries=5 \
  CMD ["bastion", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["bastion"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--config", "/etc/bastion/bastion.yaml"]

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libssl-dev libvectorscan-dev libicu-dev libsodium-dev libseccomp-dev \
      libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY src src
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DBASTION_BUILD_TESTS=OFF -DBASTION_BUILD_BENCH=OFF \
 && cmake --build /build --target bastion \
 && strip /build/src/cli/bastion

FROM runtime
COPY --from=build /build/src/cli/bastion /usr/local/bin/bastion
