#!/usr/bin/env bash
# verify-generated.sh: fail when a generated file is out of date.
#
# It copies the working tree (without bin/ and .git/) into a scratch
# directory, runs `make generate` there (the same controller-gen invocations
# and hack/sync-chart.sh that a developer runs), and compares the generated
# paths with the checkout's: deepcopy code under api/, the CRDs and RBAC
# under config/, and the chart's copies of them. The checkout itself is never
# written, so a failure leaves nothing half-regenerated behind; it names each
# drifted file and shows the difference.
#
# CONTROLLER_GEN overrides the controller-gen binary (default bin/controller-gen).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
controller_gen=${CONTROLLER_GEN:-$root/bin/controller-gen}
controller_gen=$(cd "$(dirname "$controller_gen")" && pwd)/$(basename "$controller_gen")
[ -x "$controller_gen" ] || { echo "verify-generated: $controller_gen not found: run 'make tools'" >&2; exit 1; }

# Directories whose every file is generated, and the generated files elsewhere.
gen_dirs=(config/crd/bases config/rbac charts/cognito-m2m-operator/files)
gen_glob='zz_generated.*.go'

scratch=$(mktemp -d "${TMPDIR:-/tmp}/verify-generated.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
tree=$scratch/tree
mkdir -p "$tree"
tar -C "$root" --exclude=./bin --exclude=./.git --exclude=./tmp -cf - . | tar -C "$tree" -xf -

if ! make -C "$tree" --no-print-directory generate CONTROLLER_GEN="$controller_gen" >"$scratch/generate.log" 2>&1; then
  echo "verify-generated: 'make generate' failed in a scratch copy of the tree:" >&2
  cat "$scratch/generate.log" >&2
  exit 1
fi

# The union of generated files in the checkout and in the regenerated copy.
list() {
  (cd "$1" && {
    for d in "${gen_dirs[@]}"; do [ -d "$d" ] && find "$d" -type f; done
    find api -type f -name "$gen_glob" 2>/dev/null || true
  })
}
mapfile -t files < <({ list "$root"; list "$tree"; } | sort -u)

drifted=()
for f in "${files[@]}"; do
  if [ ! -e "$tree/$f" ]; then
    drifted+=("$f (stale: 'make generate' no longer produces it; delete it)")
  elif [ ! -e "$root/$f" ]; then
    drifted+=("$f (missing)")
  elif ! cmp -s "$root/$f" "$tree/$f"; then
    drifted+=("$f")
  fi
done

if [ ${#drifted[@]} -eq 0 ]; then
  echo "verify-generated: ${#files[@]} generated files are up to date"
  exit 0
fi
{
  echo "verify-generated: generated files are out of date; run 'make generate' and commit the result:"
  printf '  %s\n' "${drifted[@]}"
  echo
  for f in "${files[@]}"; do
    a=$root/$f b=$tree/$f
    [ -e "$a" ] || a=/dev/null
    [ -e "$b" ] || b=/dev/null
    diff -u --label "checkout/$f" --label "generated/$f" "$a" "$b" | head -n 40 || true
  done
} >&2
exit 1
