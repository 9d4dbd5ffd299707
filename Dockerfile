# syntax=docker/dockerfile:1
#
# Images for the operator and its companions, all from one build stage:
#
#   docker build --target manager          -t cognito-m2m/operator .   (default)
#   docker build --target cognito-emulator -t cognito-m2m/cognito-emulator .
#   docker build --target weather          -t cognito-m2m/weather .
#   docker build --target bff              -t cognito-m2m/bff .
#   docker build --target auth-sidecar     -t cognito-m2m/auth-sidecar .
#
# The build stage compiles the five static binaries in one `go build`, so the
# second and later targets of a run reuse its cached layer instead of
# compiling the module again. Each final image holds one binary on a
# distroless base with no shell or package manager, and runs as the
# numeric non-root user 65532 so that `runAsNonRoot` can be verified.
#
# Build arguments:
#   GO_VERSION     Go toolchain image tag (matches go.mod's go directive)
#   RUNTIME_IMAGE  base of the final images; any image with CA certificates
#                  and /etc/passwd for 65532 works (distroless static, or
#                  scratch plus those files)
#   LDFLAGS        extra linker flags, e.g. "-X main.version=v0.1.0"

ARG GO_VERSION=1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# Cross-compile on the build host's platform for the target platform, which
# is fast for multi-arch builds (docker buildx --platform linux/amd64,linux/arm64).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
# The module download is its own layer: it is rebuilt only when a go.mod or
# go.sum changes, not on every source edit. The auth libraries are a module of
# their own, which go.mod replaces with ./auth, so theirs are needed too.
COPY go.mod go.sum ./
COPY auth/go.mod auth/go.sum ./auth/
RUN go mod download && go mod verify
COPY . .
ARG TARGETOS TARGETARCH LDFLAGS
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -buildid= ${LDFLAGS}" -o /out/ \
      ./cmd/manager ./cmd/cognito-emulator ./examples/weather ./examples/bff \
      ./cmd/auth-sidecar

# The example resource server (examples/weather).
FROM ${RUNTIME_IMAGE} AS weather
COPY --from=build /out/weather /usr/local/bin/weather
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/weather"]

# The example backend-for-frontend (examples/bff).
FROM ${RUNTIME_IMAGE} AS bff
COPY --from=build /out/bff /usr/local/bin/bff
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bff"]

# The auth sidecar (cmd/auth-sidecar), run as a native sidecar beside an
# application in any language: tokens for its calls, verification of its
# callers. 9901 serves /healthz, /readyz and /metrics; the other ports are
# the configuration's.
FROM ${RUNTIME_IMAGE} AS auth-sidecar
COPY --from=build /out/auth-sidecar /usr/local/bin/auth-sidecar
USER 65532:65532
EXPOSE 9901
ENTRYPOINT ["/usr/local/bin/auth-sidecar"]

# The local Cognito emulator (cmd/cognito-emulator), for development and the
# end-to-end test. Listen on all interfaces inside a container:
#   --addr 0.0.0.0:9229 --base-url http://<service>:9229
FROM ${RUNTIME_IMAGE} AS cognito-emulator
COPY --from=build /out/cognito-emulator /usr/local/bin/cognito-emulator
USER 65532:65532
EXPOSE 9229
ENTRYPOINT ["/usr/local/bin/cognito-emulator"]

# The operator (cmd/manager). Last, so that a plain `docker build .` builds it.
FROM ${RUNTIME_IMAGE} AS manager
COPY --from=build /out/manager /usr/local/bin/manager
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/manager"]
