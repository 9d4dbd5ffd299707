#!/usr/bin/env bash
# build-tools.sh MODULE_DIR OUT_DIR PKG...
#
# Builds pinned commands from one of the small modules under hack/tools into OUT_DIR.
# The Kubernetes binaries take about 15 minutes to build cold on two cores, so every
# result is also kept in a per-user cache keyed by the module's go.mod/go.sum and the
# Go version: a fresh clone on the same machine (as CI makes) copies it in seconds.
# The go command's own output goes to tmp/tools/NAME.log, shown only on failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-lib.sh"

mod_dir=$1 out_dir=$2
shift 2
cache=$(build_cache_dir "$mod_dir")
mkdir -p "$cache" "$out_dir"

for pkg in "$@"; do
  n=$(basename "$pkg")
  [ -x "$out_dir/$n" ] && continue
  if [ -x "$cache/$n" ]; then
    say "$n: from the cache $cache"
    place "$cache/$n" "$out_dir/$n"
    continue
  fi
  log=$tools_log_dir/$n.log
  say "$n: building from source ($pkg in $mod_dir), $(tool_why "$n"): $(tool_build_estimate "$n") cold on 2 cores; log $log"
  start=$(date +%s)
  # A unique temporary name: two builds of the same module may run at once (make -j).
  tmp=$cache/$n.tmp.$$
  run_logged "building $n" "$(tool_build_estimate "$n")" "$log" \
    in_dir "$mod_dir" env CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp" "$pkg"
  mv "$tmp" "$cache/$n"
  place "$cache/$n" "$out_dir/$n"
  say "$n: built in $(human $(($(date +%s) - start))), cached in $cache"
done
