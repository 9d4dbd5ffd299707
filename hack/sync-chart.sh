#!/usr/bin/env bash
# sync-chart.sh: copy the generated CRDs and RBAC from config/ into the Helm chart.
#
# config/ is the one source of truth: controller-gen writes the CRDs into
# config/crd/bases and the manager's ClusterRole into config/rbac/role.yaml
# (make generate). This script copies them, byte for byte, into the chart's
# files/ directory, where templates/crds.yaml and templates/clusterrole.yaml
# read them and add only Helm's names, labels and annotations. Because the
# copies are identical, hack/verify-generated.sh detects drift with a plain
# comparison. Never edit the chart's copies by hand.
#
# It works on the checkout it lives in (the parent of hack/), so that
# verify-generated.sh can run it in a scratch copy of the tree.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
crd_src=$root/config/crd/bases
role_src=$root/config/rbac/role.yaml
chart=$root/charts/cognito-m2m-operator

fail() { echo "sync-chart: $*" >&2; exit 1; }

shopt -s nullglob
crds=("$crd_src"/*.yaml)
[ ${#crds[@]} -gt 0 ] || fail "no CRDs in ${crd_src#"$root"/}: run 'make generate' (controller-gen crd)"
[ -f "$role_src" ] || fail "${role_src#"$root"/} is missing: run 'make generate' (controller-gen rbac writes the manager's ClusterRole there)"
grep -q '^kind: ClusterRole$' "$role_src" || fail "${role_src#"$root"/} holds no ClusterRole"
[ -d "$chart" ] || fail "no chart at ${chart#"$root"/}"

# Replace the copies as a whole, so that a CRD removed from config/ also
# leaves the chart.
rm -rf "$chart/files/crds" "$chart/files/rbac"
mkdir -p "$chart/files/crds" "$chart/files/rbac"
cp "${crds[@]}" "$chart/files/crds/"
cp "$role_src" "$chart/files/rbac/role.yaml"
echo "sync-chart: copied ${#crds[@]} CRD(s) and the ClusterRole rules into ${chart#"$root"/}/files"
