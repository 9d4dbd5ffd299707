package v1alpha1_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/internal/emulator/model"
)

// The CRDs refuse what Cognito refuses, with the bounds of AWS's model: each field
// that reaches Cognito has the pattern (in the Go syntax the API server uses,
// with Java's meaning) and the lengths or item counts of the model's shape.
func TestCRDsAgreeWithCognitosModel(t *testing.T) {
	rs := crdSpec(t, "cognito.m2m.dev_resourceservers.yaml")
	m2m := crdSpec(t, "cognito.m2m.dev_m2mclients.yaml")
	scopes := rs.Properties["scopes"]
	requests := m2m.Properties["scopes"]
	requested := requests.Items.Schema.Properties["scopes"]
	for _, tc := range []struct {
		field string
		got   apiextensionsv1.JSONSchemaProps
		shape string
	}{
		{"ResourceServer spec.identifier", rs.Properties["identifier"], "ResourceServerIdentifierType"},
		{"ResourceServer spec.name", rs.Properties["name"], "ResourceServerNameType"},
		{"ResourceServer spec.userPoolId", rs.Properties["userPoolId"], "UserPoolIdType"},
		{"ResourceServer spec.scopes", scopes, "ResourceServerScopeListType"},
		{"ResourceServer spec.scopes[].name", scopes.Items.Schema.Properties["name"], "ResourceServerScopeNameType"},
		{"ResourceServer spec.scopes[].description", scopes.Items.Schema.Properties["description"], "ResourceServerScopeDescriptionType"},
		{"M2MClient spec.clientName", m2m.Properties["clientName"], "ClientNameType"},
		{"M2MClient spec.userPoolId", m2m.Properties["userPoolId"], "UserPoolIdType"},
		{"M2MClient spec.scopes", requests, "ScopeListType"},
		{"M2MClient spec.scopes[].scopes", requested, "ScopeListType"},
		{"M2MClient spec.scopes[].scopes[]", *requested.Items.Schema, "ResourceServerScopeNameType"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			s := model.Lookup(tc.shape)
			if s == nil {
				t.Fatalf("model has no shape %s", tc.shape)
			}
			if s.GoPattern != tc.got.Pattern {
				t.Errorf("pattern %q, want the model's %s %q", tc.got.Pattern, tc.shape, s.GoPattern)
			}
			var gotMax *int64
			switch s.Type {
			case "string":
				gotMax = tc.got.MaxLength
				if s.Min != nil && *s.Min > 0 && (tc.got.MinLength == nil || *tc.got.MinLength != *s.Min) {
					t.Errorf("minLength %v, want the model's %d", deref(tc.got.MinLength), *s.Min)
				}
			case "list":
				gotMax = tc.got.MaxItems
			}
			// UserPoolIdType's 55 applies to the CRD as is; a CRD may be
			// stricter than the model (fewer items per request), never looser.
			if s.Max != nil && (gotMax == nil || *gotMax > *s.Max) {
				t.Errorf("max %v, want at most the model's %d", deref(gotMax), *s.Max)
			}
			if s.Max != nil && s.Type == "string" && *gotMax != *s.Max {
				t.Errorf("maxLength %d, want the model's %d", *gotMax, *s.Max)
			}
		})
	}

	// All scopes of one client, across requests, fit the model's ScopeListType.
	limit := model.Lookup("ScopeListType").Max
	found := false
	for _, r := range requests.XValidations {
		if strings.Contains(r.Rule, ".sum() <= ") && strings.HasSuffix(r.Rule, " "+itoa(*limit)) {
			found = true
		}
	}
	if !found {
		t.Errorf("spec.scopes has no rule bounding the scopes in all to the model's %d: %+v", *limit, requests.XValidations)
	}
	// The token lifetime's upper bound is the model's, in seconds.
	if max := model.Lookup("AccessTokenValidityType").Max; *max != 86400 || !hasRule(m2m.Properties["accessTokenValidity"], "duration('24h')") {
		t.Errorf("accessTokenValidity bound: model %d seconds, CRD rules %+v", *max, m2m.Properties["accessTokenValidity"].XValidations)
	}
	if !hasRule(m2m.Properties["accessTokenValidity"], "getSeconds()") {
		t.Error("accessTokenValidity has no whole-seconds rule: Cognito holds token lifetimes in whole seconds")
	}
}

func crdSpec(t *testing.T, file string) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &crd); err != nil {
		t.Fatal(err)
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
}

func hasRule(p apiextensionsv1.JSONSchemaProps, part string) bool {
	for _, r := range p.XValidations {
		if strings.Contains(r.Rule, part) {
			return true
		}
	}
	return false
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
