package emulator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadyLineRoundTrip(t *testing.T) {
	in := ReadyLine{Addr: "127.0.0.1:9229", BaseURL: "http://127.0.0.1:9229", Region: "us-east-1",
		TokenEndpoint: "http://127.0.0.1:9229/oauth2/token", UserPoolID: "us-east-1_AbC123xyZ",
		Issuer: "http://127.0.0.1:9229/us-east-1_AbC123xyZ", Domain: "demo"}
	line := in.String()
	want := `{"event":"ready","addr":"127.0.0.1:9229","baseUrl":"http://127.0.0.1:9229","region":"us-east-1",` +
		`"tokenEndpoint":"http://127.0.0.1:9229/oauth2/token","userPoolId":"us-east-1_AbC123xyZ",` +
		`"issuer":"http://127.0.0.1:9229/us-east-1_AbC123xyZ","domain":"demo"}`
	if line != want {
		t.Errorf("String() =\n%s\nwant\n%s", line, want)
	}
	in.Event = ReadyEvent
	got, ok := ParseReadyLine(line + "\n")
	if !ok {
		t.Fatalf("ParseReadyLine(%q) refused its own line", line)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	// Left-out members stay out, so that a reader can tell "none" apart.
	if s := (ReadyLine{Addr: "0.0.0.0:9229", Region: "us-east-1"}).String(); s != `{"event":"ready","addr":"0.0.0.0:9229","region":"us-east-1"}` {
		t.Errorf("minimal line = %s", s)
	}

	for _, other := range []string{"", "time=... level=INFO msg=\"Cognito emulator listening\"",
		`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"Handled control-plane call"}`, `{"event":"stopped"}`, `{"event":`} {
		if _, ok := ParseReadyLine(other); ok {
			t.Errorf("ParseReadyLine(%q) took it for the ready line", other)
		}
	}

	log := "time=x level=INFO msg=starting\n" + `{"level":"INFO","msg":"x"}` + "\n" + line + "\ntime=y level=INFO msg=more\n"
	if got, ok := FindReadyLine(log); !ok || got != in {
		t.Errorf("FindReadyLine = %+v, %v; want %+v", got, ok, in)
	}
	if _, ok := FindReadyLine("time=x level=INFO msg=starting\n"); ok {
		t.Error("FindReadyLine found a line in a log without one")
	}
}
