#!/usr/bin/env bash
# Creates the operator's IAM policy (operator-policy.json, scoped to one user
# pool) and a role for its ServiceAccount, trusted through IRSA
# (irsa-trust-policy.json) or EKS Pod Identity (pod-identity-trust-policy.json,
# which also creates the pod identity association). Prints the role ARN.
#
#   MODE=irsa|pod-identity CLUSTER=prod USER_POOL_ID=eu-west-1_AbCdEfGhI docs/aws/create-role.sh
#
# NAMESPACE and SERVICE_ACCOUNT default to the chart's install in
# docs/install.md (cognito-m2m-system, cognito-m2m-operator); ROLE_NAME and
# POLICY_NAME to cognito-m2m-operator; CLUSTER_REGION to AWS_REGION, else the
# pool's region. IRSA needs the cluster's OIDC provider in
# IAM; Pod Identity needs the eks-pod-identity-agent add-on.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MODE:?set MODE to irsa or pod-identity}"
: "${CLUSTER:?set CLUSTER: the EKS cluster name}"
: "${USER_POOL_ID:?set USER_POOL_ID: the pool the operator manages}"
: "${NAMESPACE:=cognito-m2m-system}"
: "${SERVICE_ACCOUNT:=cognito-m2m-operator}"
: "${ROLE_NAME:=cognito-m2m-operator}"
: "${POLICY_NAME:=cognito-m2m-operator}"
region="${USER_POOL_ID%%_*}" # the pool's region
: "${CLUSTER_REGION:=${AWS_REGION:-$region}}"
account=$(aws sts get-caller-identity --query Account --output text)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -e "s/REGION/$region/; s/ACCOUNT_ID/$account/; s/USER_POOL_ID/$USER_POOL_ID/" \
  "$here/operator-policy.json" >"$tmp/policy.json"

case "$MODE" in
irsa)
  issuer=$(aws eks describe-cluster --region "$CLUSTER_REGION" --name "$CLUSTER" \
    --query cluster.identity.oidc.issuer --output text)
  provider="${issuer#https://}"
  sed -e "s|OIDC_PROVIDER|$provider|g; s/ACCOUNT_ID/$account/; s/NAMESPACE/$NAMESPACE/; s/SERVICE_ACCOUNT/$SERVICE_ACCOUNT/" \
    "$here/irsa-trust-policy.json" >"$tmp/trust.json"
  ;;
pod-identity)
  sed -e "s/ACCOUNT_ID/$account/; s/CLUSTER/$CLUSTER/; s/NAMESPACE/$NAMESPACE/; s/SERVICE_ACCOUNT/$SERVICE_ACCOUNT/" \
    "$here/pod-identity-trust-policy.json" >"$tmp/trust.json"
  ;;
*)
  echo "MODE must be irsa or pod-identity, not $MODE" >&2
  exit 2
  ;;
esac

policy_arn=$(aws iam create-policy --policy-name "$POLICY_NAME" \
  --policy-document "file://$tmp/policy.json" --query Policy.Arn --output text)
role_arn=$(aws iam create-role --role-name "$ROLE_NAME" \
  --assume-role-policy-document "file://$tmp/trust.json" --query Role.Arn --output text)
aws iam attach-role-policy --role-name "$ROLE_NAME" --policy-arn "$policy_arn"

if [[ "$MODE" == pod-identity ]]; then
  aws eks create-pod-identity-association --region "$CLUSTER_REGION" --cluster-name "$CLUSTER" \
    --namespace "$NAMESPACE" --service-account "$SERVICE_ACCOUNT" --role-arn "$role_arn" >/dev/null
fi
echo "role: $role_arn"
