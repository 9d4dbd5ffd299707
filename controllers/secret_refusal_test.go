package controllers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Cognito does not document the type of each refusal of a secret deletion (the
// last secret, an unknown id). A retirement whose deletion is refused with any
// definite type the model lists for it lists the secrets again and finishes; it
// never stalls.
func TestRetirementFinishesAfterARefusedDeletion(t *testing.T) {
	for name, refusal := range map[string]struct {
		err error
		// gone: before refusing, the old secret is deleted out of band, so the
		// refused deletion was of what had become the last secret.
		gone bool
	}{
		"last secret, InvalidParameterException":       {&types.InvalidParameterException{Message: aws.String("The last client secret cannot be deleted.")}, true},
		"last secret, LimitExceededException":          {&types.LimitExceededException{Message: aws.String("At least one client secret is required.")}, true},
		"unknown secret id, InvalidParameterException": {&types.InvalidParameterException{Message: aws.String("Invalid ClientSecretId.")}, false},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			readyPair(t, e)
			c := rotatingClient(e.ns, "refused", time.Second)
			mustCreate(t, c)
			waitReady(t, c)
			clientID := c.Status.ClientID
			var refused atomic.Bool
			e.api.setHooks(func(op string) error {
				if op != "DeleteUserPoolClientSecret" || refused.Swap(true) {
					return nil
				}
				if refusal.gone {
					ids := clientSecretIDs(t, e.pool, clientID)
					if _, err := cognitoClient().DeleteUserPoolClientSecret(context.Background(), &cip.DeleteUserPoolClientSecretInput{
						UserPoolId: aws.String(e.pool), ClientId: aws.String(clientID), ClientSecretId: aws.String(ids[0]),
					}); err != nil {
						t.Errorf("deleting the old secret out of band: %v", err)
					}
				}
				return refusal.err
			}, nil)
			requestRotation(t, c, "1")
			waitRotated(t, c, "1", 30*time.Second)
			if !refused.Load() {
				t.Fatal("the retirement never tried a deletion")
			}
			checkRotated(t, e, c)
			waitReady(t, c)
		})
	}
}
