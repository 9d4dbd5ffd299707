#!/usr/bin/env bash
# tools.sh NAME OUT_DIR MODULE_DIR PKG
#
# Puts one pinned tool, OUT_DIR/NAME, where the make targets expect it: etcd,
# kube-apiserver, kubectl, helm or controller-gen. In order, it takes
#   1. a copy from the per-user cache (built or downloaded before, by any clone);
#   2. the released binary, downloaded and checked against hack/tools/releases.txt:
#      etcd and kube-apiserver from controller-tools' envtest archive with
#      setup-envtest, kubectl from dl.k8s.io, helm from get.helm.sh. A download is
#      a matter of seconds where there is a network;
#   3. else, at once and with one line saying why, a build from source of PKG in
#      MODULE_DIR (hack/build-tools.sh), from the Go module proxy alone.
#
# Settings, from the environment (the tests point them at a local server):
#   TOOLS_FETCH=0          never download; build
#   TOOLS_RELEASES         the checksum table (default hack/tools/releases.txt)
#   ENVTEST_INDEX_URL      setup-envtest's index of envtest archives
#   KUBECTL_BASE_URL       default https://dl.k8s.io/release
#   HELM_BASE_URL          default https://get.helm.sh
#   TOOLS_CONNECT_TIMEOUT  seconds to reach a server before building instead (default 5)
#   TOOLS_STALL_SECONDS    a download that sends nothing for this long is abandoned (15)
#   TOOLS_CACHE, TOOLS_LOG_DIR, TOOLS_PROGRESS_EVERY: see hack/tools-lib.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-lib.sh"

name=$1 out_dir=$2 mod_dir=$3 pkg=$4
[ -x "$out_dir/$name" ] && exit 0
mkdir -p "$out_dir" "$tools_cache"

releases=${TOOLS_RELEASES:-$tools_root/hack/tools/releases.txt}
envtest_index=${ENVTEST_INDEX_URL:-https://raw.githubusercontent.com/kubernetes-sigs/controller-tools/HEAD/envtest-releases.yaml}
kubectl_base=${KUBECTL_BASE_URL:-https://dl.k8s.io/release}
helm_base=${HELM_BASE_URL:-https://get.helm.sh}
connect_timeout=${TOOLS_CONNECT_TIMEOUT:-5}
stall_seconds=${TOOLS_STALL_SECONDS:-15}
platform=$(go env GOOS)-$(go env GOARCH)

case $name in
  etcd | kube-apiserver) release=envtest ;;
  kubectl | helm) release=$name ;;
  *) release= ;;
esac

# Two make jobs (make -j) for the same download or build wait for each other.
if command -v flock >/dev/null; then
  exec 9>"$tools_cache/.lock-${release:-$name}"
  flock 9
  [ -x "$out_dir/$name" ] && exit 0
fi

# release_version TOOL: the version releases.txt pins for TOOL. release_sum TOOL: the
# algorithm and checksum of its line for this platform ("sha256 abc…"); nothing when
# the table has no such line.
release_version() { awk -v t="$1" '$1 == t { print $2; exit }' "$releases"; }
release_sum() { awk -v t="$1" -v p="$platform" '$1 == t && $3 == p { print $4, $5; exit }' "$releases"; }

# 1. The cache: a source build of this module's pin, or a download of this checksum.
built=$(build_cache_dir "$mod_dir")
if [ -x "$built/$name" ]; then
  say "$name: from the cache $built"
  place "$built/$name" "$out_dir/$name"
  exit 0
fi
if [ -n "$release" ]; then
  version=$(release_version "$release")
  read -r algo sum <<<"$(release_sum "$release")" || true
  if [ -n "$sum" ]; then
    fetched=$tools_cache/releases/$release-$version-$platform-${sum:0:16}
    if [ -x "$fetched/$name" ]; then
      say "$name: from the cache $fetched"
      place "$fetched/$name" "$out_dir/$name"
      exit 0
    fi
  fi
fi

# fail REASON: why the download did not happen; the caller builds instead.
reason=
fail() {
  reason=$1
  return 1
}

# curl_get URL FILE: a download that gives up within seconds when the server cannot
# be reached or stops sending, instead of hanging a first run that can build instead.
curl_get() {
  curl -fsSL --connect-timeout "$connect_timeout" --speed-limit 1 --speed-time "$stall_seconds" -o "$2" "$1"
}

# download URL FILE LABEL: curl_get with progress lines; the reason on failure.
download() {
  local log=$tools_log_dir/$name-download.log
  if ! quiet_failure=1 run_logged "$3" "seconds to a minute" "$log" curl_get "$1" "$2"; then
    fail "cannot download $1: $(tail -n 1 "$log")"
  fi
}

# check_sum FILE WHAT: refuses a file whose checksum is not the pinned one.
check_sum() {
  local got
  got=$(sha_of "$algo" "$1")
  [ "$got" = "$sum" ] || fail "REFUSED $2: its $algo is $got, but $releases pins $sum"
}

fetch_envtest() {
  local archive=envtest-v$version-$platform.tar.gz
  download "$envtest_index" "$work/index.yaml" "reading the envtest index" || return 1
  # setup-envtest checks the archive against the index's hash; this checks the index's
  # hash against the pinned one, so a changed index cannot bring a different archive.
  local indexed
  indexed=$(awk -v a="$archive:" '$1 == a { on = 1; next } on && $1 ~ /\.tar\.gz:$/ { exit } on && $1 == "hash:" { print $2; exit }' "$work/index.yaml")
  [ -n "$indexed" ] || fail "the envtest index $envtest_index lists no $archive" || return 1
  [ "$indexed" = "$sum" ] || fail "REFUSED $archive: the index gives its $algo as $indexed, but $releases pins $sum" || return 1

  "$tools_root/hack/build-tools.sh" "$tools_root/hack/tools/setup-envtest" "$out_dir" sigs.k8s.io/controller-runtime/tools/setup-envtest ||
    fail "setup-envtest did not build" || return 1
  local log=$tools_log_dir/$name-download.log
  if ! quiet_failure=1 run_logged "downloading $archive with setup-envtest" "seconds to a minute" "$log" \
    with_timeout "${TOOLS_FETCH_TIMEOUT:-900}" "$out_dir/setup-envtest" use "$version" --bin-dir "$work/store" \
    --index "$envtest_index" --os "${platform%-*}" --arch "${platform#*-}" -p path >/dev/null; then
    fail "setup-envtest could not download $archive: $(grep -v '^\s*$' "$log" | tail -n 1)"
    return 1
  fi
  local dir
  dir=$(tail -n 1 "$log")
  [ -x "$dir/etcd" ] && [ -x "$dir/kube-apiserver" ] || fail "setup-envtest printed $dir, which has no etcd and kube-apiserver" || return 1
  mkdir -p "$work/out"
  cp "$dir/etcd" "$dir/kube-apiserver" "$work/out/"
}

fetch_kubectl() {
  local url=$kubectl_base/v$version/bin/${platform%-*}/${platform#*-}/kubectl
  download "$url" "$work/kubectl" "downloading kubectl $version" || return 1
  check_sum "$work/kubectl" "$url" || return 1
  mkdir -p "$work/out"
  install -m 0755 "$work/kubectl" "$work/out/kubectl"
}

fetch_helm() {
  local url=$helm_base/helm-v$version-$platform.tar.gz
  download "$url" "$work/helm.tar.gz" "downloading helm $version" || return 1
  check_sum "$work/helm.tar.gz" "$url" || return 1
  tar -xzf "$work/helm.tar.gz" -C "$work" "$platform/helm" || fail "$url has no $platform/helm" || return 1
  mkdir -p "$work/out"
  install -m 0755 "$work/$platform/helm" "$work/out/helm"
}

# 2. The download.
if [ -n "$release" ] && [ "${TOOLS_FETCH:-1}" != 0 ]; then
  start=$(date +%s)
  if [ -z "$sum" ]; then
    reason="$releases has no checksum for $release${version:+ $version} on $platform, so it is not downloaded"
  elif ! command -v curl >/dev/null; then
    reason="curl is not installed"
  else
    say "$name: downloading the $release $version release for $platform, $(tool_why "$name"): seconds with a network"
    work=$(mktemp -d "${TMPDIR:-/tmp}/tools-$name.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    if "fetch_$release"; then
      mkdir -p "$fetched"
      # Publish whole files only: another clone may be reading the cache.
      for f in "$work"/out/*; do
        place "$f" "$fetched/$(basename "$f")"
      done
      place "$fetched/$name" "$out_dir/$name"
      say "$name: downloaded and verified in $(human $(($(date +%s) - start))), cached in $fetched"
      exit 0
    fi
  fi
  say "$name: not downloaded ($reason); building it from source instead"
  rm -rf "${work:-}"
fi

# The build holds no lock: builds of one module share Go's cache, and each writes its
# own temporary file.
exec 9>&-

# 3. The source build.
exec "$tools_root/hack/build-tools.sh" "$mod_dir" "$out_dir" "$pkg"
