package main

import (
	"io"
	"testing"
	"time"
)

func TestFleetFlags(t *testing.T) {
	c, err := parseFlags([]string{"--managers=3", "--objects=300", "--outside-load=0.5", "--drift-period=5m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.managers != 3 || c.outsideLoad != 0.5 || c.settle != 5*time.Minute || c.steady != 5*time.Minute {
		t.Errorf("parsed %+v; want 3 managers, outside load 0.5, settle and steady one drift period", c)
	}
	for _, bad := range [][]string{
		{"--outside-load=0.5"},             // needs --managers
		{"--managers=3", "--chaos"},        // the fleet run has no chaos
		{"--managers=3", "--quotas=false"}, // nor runs without quotas
		{"--managers=9"},
		{"--managers=2", "--outside-load=1"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
