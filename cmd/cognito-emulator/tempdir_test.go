package main

import (
	"os"
	"testing"
)

// mkdirTemp makes the directory for the binary shared by all tests; it is
// removed by TestMain after they ran.
func mkdirTemp() (string, error) {
	d, err := os.MkdirTemp("", "cognito-emulator-test-")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

var tempDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
