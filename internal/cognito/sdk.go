package cognito

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// SDKOptions configures the AWS SDK's Cognito client for use behind Client: the
// SDK's retryer is off, because Client retries (see call), and a retry inside
// the SDK would be sent without waiting for the rate limit and counted as one
// request with the last attempt's outcome. endpoint, when set, overrides the
// service endpoint (the local emulator's URL).
func SDKOptions(endpoint string) func(*cip.Options) {
	return func(o *cip.Options) {
		o.Retryer = aws.NopRetryer{}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}
}
