# The project's tasks. `make demo` and `make test` are the two a new user needs.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN          := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
HELM         := $(BIN)/helm
KUBE_BINS    := $(BIN)/etcd $(BIN)/kube-apiserver $(BIN)/kubectl
CHART        := charts/cognito-m2m-operator
# controller-runtime's envtest finds etcd, kube-apiserver and kubectl here.
export KUBEBUILDER_ASSETS := $(BIN)
GO_TEST_FLAGS ?= -race -count=1 -timeout=30m

.PHONY: all
all: build

##@ The two commands

.PHONY: demo
demo: tools ## Run the whole system offline: control plane, emulator, operator, weather and BFF.
	go run ./cmd/demo $(DEMO_FLAGS)

.PHONY: test
test: tools verify-generated vet ## Unit, controller (real API server) and local end-to-end tests.
	go test $(GO_TEST_FLAGS) ./...

##@ Development

.PHONY: build
build: ## Build every binary into bin/.
	CGO_ENABLED=0 go build -o $(BIN)/ ./cmd/... ./examples/weather ./examples/bff

.PHONY: vet
vet: ## go vet, including the kind end-to-end test behind its build tag.
	go vet ./...
	go vet -tags e2e ./test/e2e/...

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
	go test -count=1 -timeout=30m -tags e2e ./test/e2e/... -v

# The scale benchmark's parameters: `make bench-scale BENCH_OBJECTS=200 BENCH_CHAOS=true`.
BENCH_OBJECTS    ?= 1000
BENCH_NAMESPACES ?= 20
BENCH_SERVERS    ?= 5
BENCH_DRIFT      ?= 10m
BENCH_STEADY     ?= $(BENCH_DRIFT)
BENCH_CHAOS      ?= false
BENCH_TIMEOUT    ?= 45m
BENCH_FLAGS      ?=

.PHONY: bench-scale
bench-scale: $(KUBE_BINS) ## Scale benchmark against Cognito's quotas: real API server, emulator and manager as processes (minutes; not part of test).
	go run ./test/scale --objects=$(BENCH_OBJECTS) --namespaces=$(BENCH_NAMESPACES) --resource-servers=$(BENCH_SERVERS) \
		--drift-period=$(BENCH_DRIFT) --steady=$(BENCH_STEADY) --chaos=$(BENCH_CHAOS) --timeout=$(BENCH_TIMEOUT) $(BENCH_FLAGS)

##@ Tools (built from the Go module proxy, pinned, cached per user)

.PHONY: tools
tools: $(KUBE_BINS) $(CONTROLLER_GEN) $(HELM)

$(KUBE_BINS) &:
	hack/build-tools.sh hack/tools/k8s $(BIN) ./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl

$(CONTROLLER_GEN):
	hack/build-tools.sh hack/tools/controller-gen $(BIN) sigs.k8s.io/controller-tools/cmd/controller-gen

$(HELM):
	hack/build-tools.sh hack/tools/helm $(BIN) helm.sh/helm/v3/cmd/helm

.PHONY: help
help:
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
