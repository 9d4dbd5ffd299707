package controllers

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

func TestCognitoFailed(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantReason string
		wantKind   stepKind
	}{
		{"throttled", &types.TooManyRequestsException{Message: aws.String("x")}, v1alpha1.ReasonThrottled, kindRetrying},
		{"invalid spec", &types.InvalidParameterException{Message: aws.String("x")}, v1alpha1.ReasonInvalidSpec, kindStalled},
		{"full pool passes when room is freed", &types.LimitExceededException{Message: aws.String("x")}, v1alpha1.ReasonLimitExceeded, kindRetrying},
		{"no answer", errors.New("connection reset"), v1alpha1.ReasonCognitoError, kindRetrying},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, kind := classify(cognitoFailed("Op", tc.err))
			if reason != tc.wantReason || kind != tc.wantKind {
				t.Errorf("classify(cognitoFailed(%v)) = %s, %d; want %s, %d", tc.err, reason, kind, tc.wantReason, tc.wantKind)
			}
		})
	}
}
