//go:build deps

// Package deps pins the project's direct dependencies during the first build-out so
// that parallel work on separate packages shares one go.mod. Removed once every
// dependency is imported by real code.
package deps

import (
	_ "github.com/MicahParks/keyfunc/v3"
	_ "github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/lestrrat-go/jwx/v3/jwk"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/apis/meta/v1"
	_ "k8s.io/client-go/kubernetes"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
)
