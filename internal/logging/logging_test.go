package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		level, format, wantErr, wantOut string
	}{
		{"debug", "json", "", `"msg":"hello"`},
		{"info", "text", "", "msg=hello"},
		{"loud", "json", `--log-level "loud"`, ""},
		{"info", "xml", `--log-format "xml"`, ""},
	} {
		var buf bytes.Buffer
		log, err := New(tc.level, tc.format, &buf)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New(%q, %q): error %v, want one naming %s", tc.level, tc.format, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("New(%q, %q): %v", tc.level, tc.format, err)
		}
		log.Info("hello")
		if !strings.Contains(buf.String(), tc.wantOut) {
			t.Errorf("New(%q, %q) wrote %q, want %s", tc.level, tc.format, buf.String(), tc.wantOut)
		}
	}
}
