# Starling container image (Debian 12, the platform the project targets).
# Build stage: the project's own dependency script, then a Release build
# with the full test suite, so an image is only produced from a green tree.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN sh deploy/install-deps.sh && make test

# Runtime stage: only the shared libraries the binaries link and the
# binaries themselves.
FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      libuv1 libnng1 liblmdb0 libssl3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/ /usr/local/bin/
# 1883 MQTT, 8883 MQTTS, 8083 WS, 8084 WSS, 18083 HTTP, 7883 cluster.
EXPOSE 1883 8883 8083 8084 18083 7883
# The broker binary lands with the single-node broker issue; until then the
# image carries the codec tools only.
CMD ["starling-codec-bench", "--quick"]
