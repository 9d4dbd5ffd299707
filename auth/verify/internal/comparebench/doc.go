// Package comparebench measures auth/verify side by side with the bare RSA
// verification every verifier must do (the floor) and with other Go JWT
// libraries: golang-jwt with keyfunc, go-oidc and jwx. It is a module of its own
// so that those libraries stay out of the auth module's and the operator's
// go.mod; it holds benchmarks only:
//
//	cd auth/verify/internal/comparebench
//	go test -run '^$' -bench . -benchmem -count 6 | tee /tmp/verify.txt
//	go run golang.org/x/perf/cmd/benchstat@latest /tmp/verify.txt
//
// See auth/BENCHMARKS.md for the figures.
package comparebench
