# walrelay: the README's two commands are `make demo` and `make test`.
GO ?= go

.PHONY: demo test vet build sdk-test

demo:
	$(GO) run ./cmd/server demo

# All tests: vet, then every Go package (unit, integration against a real
# Postgres, fuzz seed corpora) under the race detector, then the SDK's.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) sdk-test

# The TypeScript SDK: typecheck, unit tests, and integration tests against a
# walrelay built from this tree (its globalSetup builds and starts it).
sdk-test:
	cd sdk && npm ci --no-audit --no-fund && npm test

vet:
	$(GO) vet ./...

build:
	$(GO) build -o bin/walrelay ./cmd/server
