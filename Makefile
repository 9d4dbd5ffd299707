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
	go vet -tags e2elocal ./test/e2elocal/...

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
test-e2e-local: $(KUBE_BINS) $(HELM) ## The same end-to-end test on a local node with real pods (root, Linux, offline).
	hack/node/deps.sh
	hack/node/build.sh $(BIN)/node
	go test -count=1 -timeout=45m -tags e2elocal ./test/e2elocal/ -v

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
