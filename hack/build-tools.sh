#!/usr/bin/env bash
# build-tools.sh MODULE_DIR OUT_DIR PKG...
#
# Builds pinned commands from one of the small modules under hack/tools into OUT_DIR.
# The Kubernetes binaries take about 15 minutes to build cold on two cores, so every
# result is also kept in a per-user cache keyed by the module's go.mod/go.sum and the
# Go version: a fresh clone on the same machine (as CI makes) copies it in seconds.
set -euo pipefail

mod_dir=$1; out_dir=$2; shift 2
names=()
for pkg in "$@"; do names+=("$(basename "$pkg")"); done

missing=()
for n in "${names[@]}"; do [ -x "$out_dir/$n" ] || missing+=("$n"); done
[ ${#missing[@]} -eq 0 ] && exit 0

key=$(cat "$mod_dir/go.mod" "$mod_dir/go.sum" <(go env GOVERSION GOOS GOARCH) | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/cognito-m2m-operator/tools/$(basename "$mod_dir")-$key"
mkdir -p "$out_dir"

have_all=1
for n in "${names[@]}"; do [ -x "$cache/$n" ] || have_all=0; done
if [ $have_all = 1 ]; then
  echo "==> tools: ${names[*]} from cache $cache"
  for n in "${names[@]}"; do cp "$cache/$n" "$out_dir/$n"; done
  exit 0
fi

mkdir -p "$cache"
for pkg in "$@"; do
  n=$(basename "$pkg")
  [ -x "$cache/$n" ] && { cp "$cache/$n" "$out_dir/$n"; continue; }
  echo "==> tools: building $n from $mod_dir (a first build can take minutes; kube-apiserver about 15 on 2 cores)"
  start=$(date +%s)
  (cd "$mod_dir" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$cache/$n.tmp" "$pkg")
  mv "$cache/$n.tmp" "$cache/$n"
  cp "$cache/$n" "$out_dir/$n"
  echo "==> tools: $n built in $(( $(date +%s) - start ))s"
done
