#!/usr/bin/env bash
# quiet.sh NAME WHAT ESTIMATE CMD...
#
# Runs CMD the way hack/tools.sh runs a build: one line saying what it does and how
# long it is expected to take, the elapsed time every 30 seconds, one line when it is
# done; CMD's own output (go: downloading, compiler errors) goes to tmp/tools/NAME.log
# and only its end is shown, on failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-lib.sh"

name=$1 what=$2 estimate=$3
shift 3
log=$tools_log_dir/$name.log
start=$(date +%s)
say "$name: $what ($estimate; log $log)"
run_logged "$what" "$estimate" "$log" "$@"
say "$name: done in $(human $(($(date +%s) - start)))"
