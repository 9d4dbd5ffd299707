# tools-lib.sh: shared by hack/tools.sh, hack/build-tools.sh and hack/quiet.sh; sourced,
# not run.
#
# A first build of the Kubernetes tools takes many minutes, so a person waiting on it
# gets one line when a step starts (what, why, how long it is expected to take), a line
# at least every 30 seconds while it runs, and one line when it ends. Everything the
# step prints itself (go: downloading, compiler output, curl) goes to a log file named
# in the first line, and only its end is shown, on failure.

tools_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The per-user cache that makes a second clone on the same machine take seconds.
tools_cache=${TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cognito-m2m-operator}
tools_log_dir=${TOOLS_LOG_DIR:-$tools_root/tmp/tools}
# How often a running step reports its elapsed time.
tools_progress_every=${TOOLS_PROGRESS_EVERY:-30}

# say prints one progress line.
say() { printf '==> %s\n' "$*"; }

# human 75 -> 1m15s
human() {
  local s=$1
  if ((s < 60)); then printf '%ds' "$s"; else printf '%dm%02ds' $((s / 60)) $((s % 60)); fi
}

# tool_why NAME: what the tool is for, for the first line.
tool_why() {
  case $1 in
    etcd | kube-apiserver) echo "for the local control plane of make demo and of the controller, chart and local tests" ;;
    kubectl) echo "for make demo and the local end-to-end test, which apply and wait with it" ;;
    controller-gen) echo "for make test's check of the generated code" ;;
    helm) echo "for the chart tests of make test" ;;
    setup-envtest) echo "to download etcd and kube-apiserver" ;;
    *) echo "a pinned tool" ;;
  esac
}

# tool_build_estimate NAME: a cold build on a 2-core machine, measured (see README).
tool_build_estimate() {
  case $1 in
    etcd) echo "about 3 min" ;;
    kube-apiserver) echo "about 15 min" ;;
    kubectl) echo "about 3 min" ;;
    controller-gen) echo "about 4 min" ;;
    helm) echo "about 4 min" ;;
    setup-envtest) echo "about 30 s" ;;
    *) echo "a few minutes" ;;
  esac
}

# build_cache_dir MODULE_DIR: where the binaries built from MODULE_DIR are kept. The key
# is the module's go.mod and go.sum and the Go version: a change of pin or of Go builds
# afresh, anything else finds the same directory.
build_cache_dir() {
  local mod_dir=$1 key
  key=$(cat "$mod_dir/go.mod" "$mod_dir/go.sum" <(go env GOVERSION GOOS GOARCH) | sha256sum | cut -c1-16)
  echo "$tools_cache/tools/$(basename "$mod_dir")-$key"
}

# run_logged LABEL ESTIMATE LOG CMD...: runs CMD with its output in LOG, printing the
# elapsed time every $tools_progress_every seconds. On failure it prints the end of LOG,
# unless quiet_failure=1 (the caller says why in one line), and returns CMD's status.
quiet_failure=0
run_logged() {
  local label=$1 estimate=$2 log=$3
  shift 3
  mkdir -p "$(dirname "$log")"
  local start
  start=$(date +%s)
  # The ticker's sleep must not keep the caller's output pipe or a lock (fd 9) open
  # after the ticker is killed.
  (
    while sleep "$tools_progress_every" </dev/null >/dev/null 2>&1 9>&-; do
      printf '    … %s: %s so far (expected %s; log %s)\n' "$label" "$(human $(($(date +%s) - start)))" "$estimate" "$log"
    done
  ) &
  local ticker=$! rc=0
  "$@" >"$log" 2>&1 </dev/null || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if ((rc != 0)) && [ "$quiet_failure" != 1 ]; then
    say "$label failed after $(human $(($(date +%s) - start))); the end of $log:"
    tail -n 25 "$log" | sed 's/^/    /'
  fi
  return "$rc"
}

# place SRC DST copies a file so that DST is never seen half written: make takes an
# executable bin/NAME as done, and other clones read the cache.
place() {
  cp "$1" "$2.tmp.$$"
  mv "$2.tmp.$$" "$2"
}

# in_dir DIR CMD... runs CMD in DIR.
in_dir() { (cd "$1" && shift && "$@"); }

# with_timeout SECONDS CMD...: CMD, killed after SECONDS where timeout(1) exists.
with_timeout() {
  if command -v timeout >/dev/null; then
    timeout "$@"
  else
    shift
    "$@"
  fi
}

# sha_of ALGORITHM FILE prints the file's sha256 or sha512 in hex.
sha_of() {
  local bits=${1#sha}
  if command -v "sha${bits}sum" >/dev/null; then
    "sha${bits}sum" "$2" | cut -d' ' -f1
  else
    shasum -a "$bits" "$2" | cut -d' ' -f1
  fi
}
