#!/usr/bin/env bash
# sync-chart.sh: copy the generated CRDs and RBAC from config/ into the Helm chart.
#
# config/ is the one source of truth: controller-gen writes the CRDs into
# config/crd/bases and the manager's ClusterRole into config/rbac/role.yaml
# (make generate); config/admission holds the finalizer guard, written by
# hand. This script copies them, byte for byte, into the chart's files/
# directory, where templates/crds.yaml, templates/clusterrole.yaml and
# templates/finalizer-guard.yaml read them and add only Helm's names, labels
# and annotations (and the guard's binding to the release's ServiceAccount). Because the
# copies are identical, hack/verify-generated.sh detects drift with a plain
# comparison. Never edit the chart's copies by hand.
#
# It works on the checkout it lives in (the parent of hack/), so that
# verify-generated.sh can run it in a scratch copy of the tree.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
crd_src=$root/config/crd/bases
role_src=$root/config/rbac/role.yaml
admission_src=$root/config/admission
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
admission=("$admission_src"/*.yaml)
[ ${#admission[@]} -gt 0 ] || fail "no admission policies in ${admission_src#"$root"/}"
rm -rf "$chart/files/crds" "$chart/files/rbac" "$chart/files/admission"
mkdir -p "$chart/files/crds" "$chart/files/rbac" "$chart/files/admission"
cp "${crds[@]}" "$chart/files/crds/"
cp "$role_src" "$chart/files/rbac/role.yaml"
cp "${admission[@]}" "$chart/files/admission/"
echo "sync-chart: copied ${#crds[@]} CRD(s), the ClusterRole rules and ${#admission[@]} admission policy file(s) into ${chart#"$root"/}/files"
