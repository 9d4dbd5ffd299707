#!/usr/bin/env bash
# build.sh OUT_DIR [GROUP...]
#
# Builds the local node's binaries from the pinned modules under hack/tools/node into
# OUT_DIR: GROUP is kube (kubelet, kube-controller-manager, kube-scheduler, kube-proxy,
# and a version-stamped kube-apiserver and kubectl), containerd (containerd, its runc
# shim, ctr), coredns, or buildkit (buildkitd, buildctl and the Dockerfile frontend,
# which build the project's images from its Dockerfile); all four when none is named. A cold build takes about 30
# minutes on two cores, so every result is kept in the per-user cache, keyed by the
# module's files, the Go version and the link flags, as hack/build-tools.sh does:
# later runs and fresh clones on the same machine copy them in seconds.
#
# The binaries carry their real versions (read from the module's go.mod): without
# them Kubernetes reports v0.0.0-master and kubectl version and Helm's kubeVersion
# checks fail. Compile flags are those of hack/build-tools.sh (CGO_ENABLED=0,
# -trimpath), so the kube group reuses the packages compiled there for
# kube-apiserver; only the link flags differ.
set -euo pipefail

out_dir=$1; shift
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(buildkit containerd coredns kube)
root=$(cd "$(dirname "$0")/../.." && pwd)

# modver MODULE_DIR PATH: the version go.mod requires for the module PATH.
modver() { (cd "$1" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$2"); }

# build GROUP NAME PKG LDFLAGS
build() {
  local group=$1 name=$2 pkg=$3 ldflags=$4 mod_dir="$root/hack/tools/node/$1"
  local key cache start
  key=$(cat "$mod_dir"/go.mod "$mod_dir"/go.sum "$mod_dir"/*.go <(go env GOVERSION GOOS GOARCH) <(echo "$ldflags") | sha256sum | cut -c1-16)
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/cognito-m2m-operator/node/$group-$key"
  mkdir -p "$cache" "$out_dir"
  if [ -x "$cache/$name" ]; then
    cp "$cache/$name" "$out_dir/$name.tmp" && mv "$out_dir/$name.tmp" "$out_dir/$name"
    return
  fi
  echo "==> node: building $name from hack/tools/node/$group (cold: minutes; kubelet about 8 on 2 cores)"
  start=$(date +%s)
  (cd "$mod_dir" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" -o "$cache/$name.tmp" "$pkg")
  mv "$cache/$name.tmp" "$cache/$name"
  cp "$cache/$name" "$out_dir/$name.tmp" && mv "$out_dir/$name.tmp" "$out_dir/$name"
  echo "==> node: $name built in $(( $(date +%s) - start ))s"
}

for group in "${groups[@]}"; do
  mod_dir="$root/hack/tools/node/$group"
  case $group in
  kube)
    v=$(modver "$mod_dir" k8s.io/kubernetes)              # v1.37.2
    major=${v#v}; major=${major%%.*}
    minor=${v#v"$major".}; minor=${minor%%.*}
    ld=""
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    for cmd in kube-apiserver kube-scheduler kube-proxy kube-controller-manager kubelet kubectl; do
      build kube "$cmd" "k8s.io/kubernetes/cmd/$cmd" "$ld"
    done
    ;;
  containerd)
    v=$(modver "$mod_dir" github.com/containerd/containerd/v2)
    ld="-X github.com/containerd/containerd/v2/version.Version=$v"
    for cmd in containerd-shim-runc-v2 ctr containerd; do
      build containerd "$cmd" "github.com/containerd/containerd/v2/cmd/$cmd" "$ld"
    done
    ;;
  coredns)
    v=$(modver "$mod_dir" github.com/coredns/coredns)
    build coredns coredns . "-X github.com/coredns/coredns/coremain.GitCommit=$v"
    ;;
  buildkit)
    v=$(modver "$mod_dir" github.com/moby/buildkit)
    for cmd in buildctl buildkitd; do
      build buildkit "$cmd" "github.com/moby/buildkit/cmd/$cmd" "-X github.com/moby/buildkit/version.Version=$v"
    done
    # The Dockerfile frontend as a program of its own: the image made from it stands
    # in for the Dockerfile's '# syntax=docker/dockerfile:1' (internal/imagebuild).
    build buildkit dockerfile-frontend github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend "-X main.Version=$v"
    # The build stage's Go toolchain: this go command's own version, as the module
    # proxy serves it (checked against the checksum database), into the module cache,
    # where the offline image build finds it. Seconds when already there.
    tc="golang.org/toolchain@v0.0.1-$(go env GOVERSION).$(go env GOOS)-$(go env GOARCH)"
    if [ ! -f "$(go env GOMODCACHE)/$tc/bin/go" ]; then
      echo "==> node: downloading the Go toolchain $tc from the module proxy (about 75 MB)"
      tmp=$(mktemp -d)
      (cd "$tmp" && go mod download "$tc")
      rmdir "$tmp"
    fi
    ;;
  *) echo "build.sh: unknown group $group (kube, containerd, coredns, buildkit)" >&2; exit 2 ;;
  esac
done
