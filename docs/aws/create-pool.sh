#!/usr/bin/env bash
# Creates a Cognito user pool for the cognito-m2m-operator and its prefix domain:
# the AWS CLI equivalent of cognito-pool.yaml. Prints the pool id, the token
# endpoint and the issuer. With SMOKE_TEST=1 it also creates a resource server
# and an app client and asks the token endpoint for a token, to prove the pool
# issues client-credentials tokens before the operator is installed.
#
#   POOL_NAME=m2m DOMAIN_PREFIX=acme-m2m [AWS_REGION=eu-west-1] [SMOKE_TEST=1] docs/aws/create-pool.sh
#
# Needs the AWS CLI v2 with credentials allowed to create user pools; curl for
# SMOKE_TEST. The client secret is never printed.
set -euo pipefail

: "${POOL_NAME:=m2m}"
: "${DOMAIN_PREFIX:?set DOMAIN_PREFIX: the pool domain prefix, unique in the region, without aws, amazon or cognito}"
: "${DELETION_PROTECTION:=ACTIVE}"
: "${SMOKE_TEST:=0}"
region="${AWS_REGION:-$(aws configure get region || true)}"
: "${region:?set AWS_REGION}"

pool_id=$(aws cognito-idp create-user-pool --region "$region" \
  --pool-name "$POOL_NAME" \
  --deletion-protection "$DELETION_PROTECTION" \
  --admin-create-user-config AllowAdminCreateUserOnly=true \
  --query UserPool.Id --output text)
echo "user pool:      $pool_id"

aws cognito-idp create-user-pool-domain --region "$region" \
  --user-pool-id "$pool_id" --domain "$DOMAIN_PREFIX" >/dev/null
token_endpoint="https://$DOMAIN_PREFIX.auth.$region.amazoncognito.com/oauth2/token"
echo "token endpoint: $token_endpoint"
echo "issuer:         https://cognito-idp.$region.amazonaws.com/$pool_id"

if [[ "$SMOKE_TEST" == 1 ]]; then
  aws cognito-idp create-resource-server --region "$region" \
    --user-pool-id "$pool_id" --identifier cognito-m2m-smoke-test --name "cognito-m2m smoke test" \
    --scopes ScopeName=check,ScopeDescription="Check that the token endpoint issues tokens" >/dev/null
  client_id=$(aws cognito-idp create-user-pool-client --region "$region" \
    --user-pool-id "$pool_id" --client-name cognito-m2m-smoke-test --generate-secret \
    --allowed-o-auth-flows client_credentials --allowed-o-auth-flows-user-pool-client \
    --allowed-o-auth-scopes cognito-m2m-smoke-test/check \
    --query UserPoolClient.ClientId --output text)
  client_secret=$(aws cognito-idp describe-user-pool-client --region "$region" \
    --user-pool-id "$pool_id" --client-id "$client_id" \
    --query UserPoolClient.ClientSecret --output text)
  # A new domain can take a minute or two to answer.
  for attempt in $(seq 1 24); do
    if curl -fsS -o /dev/null -u "$client_id:$client_secret" \
      -d grant_type=client_credentials "$token_endpoint"; then
      echo "smoke test:     the token endpoint issued a token to client $client_id"
      break
    fi
    if [[ "$attempt" == 24 ]]; then
      echo "smoke test:     no token after 2 minutes" >&2
      exit 1
    fi
    sleep 5
  done
  aws cognito-idp delete-user-pool-client --region "$region" --user-pool-id "$pool_id" --client-id "$client_id"
  aws cognito-idp delete-resource-server --region "$region" --user-pool-id "$pool_id" --identifier cognito-m2m-smoke-test
  echo "smoke test:     client and resource server deleted"
fi
