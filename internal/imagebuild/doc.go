// Package imagebuild builds the project's five images (weather, bff,
// auth-sidecar, cognito-emulator, manager) from its Dockerfile, offline,
// with BuildKit: buildkitd with its OCI worker (runc) and buildctl, from the
// pinned module hack/tools/node/buildkit (hack/node/build.sh buildkit).
//
// Nothing is pulled. The images the Dockerfile names are made on this
// machine and handed to the build as named contexts in OCI layouts:
//
//   - golang:${GO_VERSION}, built by BuildKit itself from scratch and
//     local directories: the Go toolchain of the go command on PATH, from
//     the Go module proxy's golang.org/toolchain module in the module cache
//     (hack/node/build.sh downloads it), busybox-static from Debian as the
//     shell of RUN, and a module cache with the project's modules copied
//     from the host's (which the module proxy first fills with what it
//     lacks, see ModuleCache), with GOPROXY=off: the build stage's `go mod
//     download && go mod verify` succeeds with no network.
//   - ${RUNTIME_IMAGE}: scratch plus Debian's CA bundle and /etc/passwd
//     with 65532 (RuntimeBase), written here: a few small files whose
//     owners and modes distroless's static image fixes.
//   - docker/dockerfile:1, the frontend the Dockerfile's syntax line asks
//     for: the Dockerfile frontend of the same BuildKit module as a
//     program (dockerfile-frontend) on scratch, with the labels of
//     BuildKit's own frontend image. A named context replaces a syntax
//     image as it replaces any other (moby/buildkit#3633; buildx documents
//     it), so the Dockerfile stays as users build it. The other way to
//     skip the syntax line, the "cmdline" option, is how BuildKit marks a
//     request it has already forwarded: internal, undocumented.
//
// buildkitd runs as root in network and mount namespaces of its own: only
// loopback is up, so neither buildkitd nor a RUN step (host networking of
// the worker, which is this namespace) can reach anything, and its mounts
// vanish with it. It starts in a cgroup of its own, which holds it and
// everything it runs; Close kills what is left there and removes every
// trace, and Leftovers lists what remains (nothing). hack/release is its
// user:
//
//	sudo make release VERSION=v0.1.0
package imagebuild
