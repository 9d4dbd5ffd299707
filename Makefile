# The project's tasks. `make demo` and `make test` are the two a new user needs.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN          := $(CURDIR)/bin
ETCD         := $(BIN)/etcd
KUBE_APISERVER := $(BIN)/kube-apiserver
KUBECTL      := $(BIN)/kubectl
CONTROLLER_GEN := $(BIN)/controller-gen
HELM         := $(BIN)/helm
CHART        := charts/cognito-m2m-operator
# controller-runtime's envtest finds etcd, kube-apiserver and kubectl here.
export KUBEBUILDER_ASSETS := $(BIN)
GO_TEST_FLAGS ?= -race -count=1 -timeout=30m

.PHONY: all
all: build

##@ The two commands

# The demo runs etcd, kube-apiserver and kubectl, nothing else of the tools. Its Go code
# is compiled first, with progress lines and the module downloads in a log.
.PHONY: demo
demo: $(ETCD) $(KUBE_APISERVER) $(KUBECTL) ## Run the whole system offline: control plane, emulator, operator, weather and BFF.
	@hack/quiet.sh demo-build "compiling the demo, the operator, the emulator, weather and the BFF" "about 3 min cold on 2 cores, seconds after" \
		go build -o $(BIN)/ ./cmd/demo ./cmd/manager ./cmd/cognito-emulator ./examples/weather ./examples/bff
	$(BIN)/demo $(DEMO_FLAGS)

.PHONY: test
test: $(ETCD) $(KUBE_APISERVER) $(KUBECTL) $(CONTROLLER_GEN) $(HELM) verify-generated vet ## Unit, controller (real API server) and local end-to-end tests.
	go test $(GO_TEST_FLAGS) ./...
	cd auth && go test $(GO_TEST_FLAGS) ./...

##@ Development

.PHONY: build
build: ## Build every binary into bin/.
	CGO_ENABLED=0 go build -o $(BIN)/ ./cmd/... ./examples/weather ./examples/bff

.PHONY: vet
vet: ## go vet, including the kind end-to-end test behind its build tag.
	go vet ./...
	go vet -tags e2e ./test/e2e/...
	go vet -tags e2elocal ./test/e2elocal/...
	cd auth && go vet ./...
	cd auth/verify/internal/comparebench && go vet ./...

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code, CRDs and RBAC, and copy them into the chart.
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd rbac:roleName=cognito-m2m-operator paths=./api/... paths=./controllers/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	hack/sync-chart.sh

.PHONY: verify-generated
verify-generated: $(CONTROLLER_GEN) ## Fail when generated files or the chart's copies are out of date.
	CONTROLLER_GEN=$(CONTROLLER_GEN) hack/verify-generated.sh

.PHONY: test-e2e
test-e2e: ## The kind end-to-end test (needs Docker and network).
	go test -count=1 -timeout=45m -tags e2e ./test/e2e/... -v

.PHONY: test-e2e-local
test-e2e-local: $(ETCD) $(KUBE_APISERVER) $(KUBECTL) $(HELM) ## The same end-to-end test on a local node with real pods (root, Linux, offline).
	hack/node/deps.sh
	hack/node/build.sh $(BIN)/node
	go test -count=1 -timeout=45m -tags e2elocal ./test/e2elocal/ -v

.PHONY: release
release: $(HELM) ## A release in dist/, offline (root, Linux): the five images for linux/amd64 and linux/arm64 as OCI archives, the chart, install.yaml, SHA256SUMS. VERSION=v0.1.0
	@test -n "$(VERSION)" || { echo "make release VERSION=v0.1.0"; exit 2; }
	hack/node/deps.sh
	hack/node/build.sh $(BIN)/node buildkit
	go run ./hack/release --version $(VERSION) --out dist --helm $(HELM)

# The scale benchmark's parameters: `make bench-scale BENCH_OBJECTS=200 BENCH_CHAOS=true`.
BENCH_OBJECTS    ?= 1000
BENCH_NAMESPACES ?= 20
BENCH_SERVERS    ?= 5
BENCH_DRIFT      ?= 10m
BENCH_STEADY     ?= $(BENCH_DRIFT)
BENCH_CHAOS      ?= false
BENCH_TIMEOUT    ?= 45m
BENCH_FLAGS      ?=
# The fleet run: `make bench-scale BENCH_MANAGERS=3 BENCH_OBJECTS=300` (objects per
# manager), with BENCH_OUTSIDE=0.5 for an outside caller taking half the quota.
BENCH_MANAGERS   ?= 0
BENCH_OUTSIDE    ?= 0

.PHONY: bench-scale
bench-scale: $(ETCD) $(KUBE_APISERVER) ## Scale benchmark against Cognito's quotas: real API server, emulator and manager as processes (minutes; not part of test).
	go run ./test/scale --objects=$(BENCH_OBJECTS) --namespaces=$(BENCH_NAMESPACES) --resource-servers=$(BENCH_SERVERS) \
		--drift-period=$(BENCH_DRIFT) --steady=$(BENCH_STEADY) --chaos=$(BENCH_CHAOS) --timeout=$(BENCH_TIMEOUT) \
		--managers=$(BENCH_MANAGERS) --outside-load=$(BENCH_OUTSIDE) $(BENCH_FLAGS)

##@ Tools (pinned, cached per user: downloaded and checked where possible, else built from the Go module proxy)

.PHONY: tools
tools: $(ETCD) $(KUBE_APISERVER) $(KUBECTL) $(CONTROLLER_GEN) $(HELM) ## The pinned etcd, kube-apiserver, kubectl, controller-gen and Helm.

# Each binary is made on its own (hack/tools.sh NAME OUT_DIR MODULE_DIR PKG), so that a
# command builds only what it runs; the three Kubernetes binaries share hack/tools/k8s
# and its cache.
$(ETCD):
	@hack/tools.sh etcd $(BIN) hack/tools/k8s ./etcd

$(KUBE_APISERVER):
	@hack/tools.sh kube-apiserver $(BIN) hack/tools/k8s k8s.io/kubernetes/cmd/kube-apiserver

$(KUBECTL):
	@hack/tools.sh kubectl $(BIN) hack/tools/k8s k8s.io/kubernetes/cmd/kubectl

$(CONTROLLER_GEN):
	@hack/tools.sh controller-gen $(BIN) hack/tools/controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen

$(HELM):
	@hack/tools.sh helm $(BIN) hack/tools/helm helm.sh/helm/v4/cmd/helm

.PHONY: help
help:
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
