package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The checked-in tables are exactly what the generator makes of the checked-in
// model subset: neither was edited by hand.
func TestGeneratedFileIsUpToDate(t *testing.T) {
	sub, err := os.ReadFile(filepath.Join("..", subsetFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(sub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", generatedFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what ./gen makes of %s: run `go generate ./internal/emulator/model`", generatedFile, subsetFile)
	}
}

// The subset is what -from takes out of a whole model: re-taking it from itself
// (it has every shape and operation it needs) changes nothing.
func TestSubsetIsClosed(t *testing.T) {
	sub, err := os.ReadFile(filepath.Join("..", subsetFile))
	if err != nil {
		t.Fatal(err)
	}
	var src source
	if m := regexp.MustCompile(`"commit": "([0-9a-f]{40})"`).FindSubmatch(sub); m != nil {
		src.Commit = string(m[1])
	}
	again, err := subset(sub, source{
		Repository: "github.com/boto/botocore",
		Path:       "botocore/data/cognito-idp/2016-04-18/service-2.json",
		Commit:     src.Commit,
		Date:       string(regexp.MustCompile(`"date": "([0-9-]+)"`).FindSubmatch(sub)[1]),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, sub) {
		t.Fatalf("taking the subset of %s again changes it", subsetFile)
	}
}

// Translated patterns accept and refuse what Java's Pattern.matches does for the
// differences that matter: Java's \s includes \x0B, its '.' stops at line
// terminators, and the whole value must match.
func TestTranslatePattern(t *testing.T) {
	for _, tc := range []struct {
		java   string
		accept []string
		refuse []string
	}{
		{`[\w\s+=,.@-]+`, []string{"a b", "a\x0Bb", "x@y.z"}, []string{"", "a/b", "ä", "a\x00"}},
		{`[\S]+`, []string{"abc", "ä"}, []string{"", "a b", "a\x0Bb"}},
		{`.*\{####\}.*`, []string{"code {####}"}, []string{"a\n{####}", "a\u2028{####}"}},
		{`(?s).*`, []string{"", "a\nb"}, nil},
		{`^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$`, []string{"a", "a-b"}, []string{"a-", "a.b", "a\n"}},
		{`[\x21\x23-\x5B\x5D-\x7E]+`, []string{"https://x"}, []string{`a"b`, `a\b`, "a b"}},
		{`[\p{L}\p{M}\p{S}\p{N}\p{P}]+`, []string{"ü-1"}, []string{"a b"}},
	} {
		goPat, err := translatePattern(tc.java)
		if err != nil {
			t.Fatalf("%s: %v", tc.java, err)
		}
		re := regexp.MustCompile(goPat)
		for _, s := range tc.accept {
			if !re.MatchString(s) {
				t.Errorf("%s (as %s) refuses %q", tc.java, goPat, s)
			}
		}
		for _, s := range tc.refuse {
			if re.MatchString(s) {
				t.Errorf("%s (as %s) accepts %q", tc.java, goPat, s)
			}
		}
	}
	if _, err := translatePattern(`[a\Sb]`); err == nil {
		t.Error(`\S inside a larger class was translated; want an error`)
	}
	if _, err := translatePattern(`\bx`); err == nil {
		t.Error(`an unknown escape was translated; want an error`)
	}
}
