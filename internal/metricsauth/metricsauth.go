// Package metricsauth guards the manager's /metrics: a request passes only with a
// bearer token that the API server authenticates (TokenReview) and authorizes for
// GET /metrics (SubjectAccessReview).
//
// It does what controller-runtime's filters.WithAuthenticationAndAuthorization
// does, with the same k8s.io/apiserver delegating authenticator and authorizer and
// the same settings, but answers as the API server itself does: that filter answers
// 500 whenever authentication returns an error, and k8s.io/apiserver's bearer-token
// authenticator returns one for every token it does not accept (a made-up token,
// an expired one, one of a deleted ServiceAccount). A client's bad token is then
// indistinguishable from the operator failing. Here:
//
//   - no token, or a token the API server reviewed and did not accept: 401;
//   - a token whose review could not be made (the API server unreachable, the
//     manager not allowed to create TokenReviews): 500, logged;
//   - a user not authorized for the request: 403;
//   - an authorization check that could not be made: 500, logged.
package metricsauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	authenticationv1 "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1 "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// retryBackoff is k8s.io/apiserver's default for delegated authentication and
// authorization (options.DefaultAuthWebhookRetryBackoff), as controller-runtime uses.
var retryBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}

// WithAuthenticationAndAuthorization is a metricsserver.Options.FilterProvider.
// The manager needs create on tokenreviews and subjectaccessreviews; a scraper
// needs get on the non-resource URL /metrics.
func WithAuthenticationAndAuthorization(config *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, authz, err := delegating(config, httpClient)
	if err != nil {
		return nil, err
	}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return Handler(log, authn, authz, next), nil
	}, nil
}

func delegating(config *rest.Config, httpClient *http.Client) (authenticator.Request, authorizer.Authorizer, error) {
	tokenReviews, err := authenticationv1.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, nil, err
	}
	accessReviews, err := authorizationv1.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, nil, err
	}
	backoff := retryBackoff
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserver.AnonymousAuthConfig{Enabled: false},
		CacheTTL:                 time.Minute,
		TokenAccessReviewClient:  tokenReviews,
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      &backoff,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("creating the metrics endpoint's authenticator: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: accessReviews,
		AllowCacheTTL:             5 * time.Minute,
		DenyCacheTTL:              30 * time.Second,
		WebhookRetryBackoff:       &backoff,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("creating the metrics endpoint's authorizer: %w", err)
	}
	return authn, authz, nil
}

// Handler serves next to requests that authn authenticates and authz authorizes.
func Handler(log logr.Logger, authn authenticator.Request, authz authorizer.Authorizer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		res, ok, err := authn.AuthenticateRequest(req)
		if err != nil && ReviewFailed(err) {
			log.Error(err, "Could not review the token of a request to the metrics endpoint")
			http.Error(w, "the token could not be reviewed", http.StatusInternalServerError)
			return
		}
		if err != nil || !ok {
			log.V(4).Info("Unauthenticated request to the metrics endpoint", "reason", fmt.Sprint(err))
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		attrs := authorizer.AttributesRecord{User: res.User, Verb: strings.ToLower(req.Method), Path: req.URL.Path}
		decision, reason, err := authz.Authorize(req.Context(), attrs)
		if err != nil {
			log.Error(err, "Could not authorize a request to the metrics endpoint", "user", attrs.User.GetName())
			http.Error(w, "the request could not be authorized", http.StatusInternalServerError)
			return
		}
		if decision != authorizer.DecisionAllow {
			log.V(4).Info("Forbidden request to the metrics endpoint", "user", attrs.User.GetName(), "reason", reason)
			http.Error(w, fmt.Sprintf("user %s may not %s %s", attrs.User.GetName(), attrs.Verb, attrs.Path), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// ReviewFailed tells an authentication error that says the TokenReview could not
// be made (an API error such as Forbidden or a server error, no connection, a
// timeout) from one that says the API server reviewed the token and did not
// accept it (a plain message from the review's status, or "invalid bearer
// token"). The delegating authenticator gathers its authenticators' errors in an
// aggregate.
func ReviewFailed(err error) bool {
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		for _, e := range agg.Errors() {
			if ReviewFailed(e) {
				return true
			}
		}
		return false
	}
	var status apierrors.APIStatus
	var urlErr *url.Error
	return errors.As(err, &status) || errors.As(err, &urlErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
