# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
#
# Product code is built and tested with GOWORK=off, so it uses exactly the versions in go.mod: the
# workspace (go.work) also holds tools/, whose dependency graph would otherwise lift shared modules
# (protobuf, for one) to the tools' versions. go.work serves editors and `go tool`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export GOWORK := off
export PATH := $(CURDIR)/bin:$(PATH)

GO_TEST_FLAGS ?= -race -count=1 -timeout=20m
TOOLS := bin/buf bin/golangci-lint bin/protoc-gen-go bin/protoc-gen-go-grpc bin/kustomize bin/kubeconform

.PHONY: demo build image test deps tools generate check-generate lint breaking release-contract vet k8s-validate k8s-schemas unit examples integration qa-example bench fmt clean

## demo: install what is missing, build and run the whole suite on the embedded default (egov dev)
demo: deps build
	./bin/egov dev

## build: the egov binary in bin/
build:
	go build -o bin/egov ./cmd/egov

## image: the suite's container image, IMAGE (default egov:dev), from the static binary (deploy/Dockerfile:
## FROM scratch, numeric non-root user, nothing pulled)
IMAGE ?= egov:dev
image:
	rm -rf bin/image && mkdir -p bin/image/tmp && chmod 1777 bin/image/tmp
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/image/egov ./cmd/egov
	docker build -q -t $(IMAGE) -f deploy/Dockerfile bin/image

## test: install what is missing, then lint (with buf breaking), check-generate, vet, every test with -race and the examples
test: deps lint check-generate vet k8s-validate unit examples integration

## deps: install PostgreSQL (and later Chromium) when missing; as root on Debian with apt-get, else say what to install
deps:
	./scripts/install-deps.sh

## tools: build the pinned generators and linters from tools/go.mod into bin/
tools: $(TOOLS)
$(TOOLS) &: tools/go.mod tools/go.sum
	cd tools && go build -o ../bin/ \
		github.com/bufbuild/buf/cmd/buf \
		github.com/golangci/golangci-lint/v2/cmd/golangci-lint \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		sigs.k8s.io/kustomize/kustomize/v5 \
		github.com/yannh/kubeconform/cmd/kubeconform

## k8s-validate: kustomize build each overlay of deploy/k8s and validate every object, strictly, against
## the JSON schemas kept in deploy/k8s/schemas (nothing is downloaded)
K8S_SCHEMAS := deploy/k8s/schemas/{{.ResourceKind}}{{.KindSuffix}}.json
k8s-validate: tools
	for o in base overlays/dev overlays/prod; do \
		echo "deploy/k8s/$$o:"; \
		kustomize build deploy/k8s/$$o | kubeconform -strict -summary -schema-location '$(K8S_SCHEMAS)' -; \
	done

## k8s-schemas: regenerate deploy/k8s/schemas (deploy/k8s/schemas/README.md: the sources and versions)
K8S_VERSION := v1.36.3
CNPG_VERSION := v1.30.0
k8s-schemas:
	./scripts/k8s-schemas.sh $(K8S_VERSION) $(CNPG_VERSION)

## generate: regenerate the Go code of proto/
generate: tools
	find proto -name '*.pb.go' -delete
	buf generate

## check-generate: fail when the checked-in generated code differs from what generate makes
check-generate: generate
	@if [ -n "$$(git status --porcelain -- proto)" ]; then \
		echo "generated code in proto/ is stale; run 'make generate' and commit:"; \
		git status --porcelain -- proto; git diff --stat -- proto; exit 1; fi

## lint: buf lint, buf breaking against the last released contract, and golangci-lint
lint: tools breaking
	buf lint
	golangci-lint run ./...
	cd integration && ../bin/golangci-lint run ./...
	cd examples && ../bin/golangci-lint run ./...

## breaking: fail when proto/ breaks the last released contract (proto/releases/, a buf image kept in the
## repository, because a fresh clone may carry no tags)
RELEASED_CONTRACT = $(shell ls proto/releases/v*.binpb | sort -V | tail -n 1)
breaking: tools
	buf breaking --against $(RELEASED_CONTRACT)

## release-contract: cut the next release of the contract, RELEASE=v2: the image the next changes are checked against
release-contract: tools
	@if [ -z "$${RELEASE:-}" ]; then echo "usage: make release-contract RELEASE=v2"; exit 1; fi
	@if [ -e proto/releases/$$RELEASE.binpb ]; then echo "proto/releases/$$RELEASE.binpb exists"; exit 1; fi
	buf build -o proto/releases/$$RELEASE.binpb

## vet: go vet over every module
vet:
	go vet ./...
	cd integration && go vet ./...
	cd examples && go vet ./...

## unit: the root module's tests
unit:
	go test $(GO_TEST_FLAGS) ./...

## examples: build, vet and test the examples as a module of their own (they may use public packages
## only: the check below fails on an import of an internal package of the suite)
examples:
	cd examples && go build ./... && go vet ./...
	@bad=$$(cd examples && go list -f '{{.ImportPath}}: {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... \
		| tr ' ' '\n' | grep -E '^github.com/egov-suite/egov/(.*/)?internal(/|$$)' || true); \
		if [ -n "$$bad" ]; then echo "examples import internal packages of the suite:"; echo "$$bad"; exit 1; fi
	cd examples && go test $(GO_TEST_FLAGS) ./...

## integration: black-box tests over the real binary, one package at a time (each runs the whole suite,
## some as a process per service: side by side on two cores they would only slow each other down)
integration:
	cd integration && go test $(GO_TEST_FLAGS) -p 1 ./...

## qa-example: the QA team's example (examples/qa, with the public kit qakit): it starts the suite, or
## attaches to a running one with EGOV_ENDPOINTS=.egov/endpoints.json, and drives one application
qa-example:
	cd examples && go vet ./qa && go test -count=1 ./qa

## bench: benchmarks, each beside its baseline measured in the same run (binary built without -race)
bench:
	go test -run='^$$' -bench=. -benchmem ./...
	cd integration && EGOV_RACE=0 go test -run='^$$' -bench=. ./...

fmt: tools
	golangci-lint fmt ./...
	cd integration && ../bin/golangci-lint fmt ./...

clean:
	rm -rf bin .egov
