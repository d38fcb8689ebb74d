# walrelay: the README's two commands are `make demo` and `make test`.
GO ?= go

.PHONY: demo test vet build

demo:
	$(GO) run ./cmd/server demo

# All tests: vet, then every Go package (unit, integration against a real
# Postgres, fuzz seed corpora) under the race detector.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

build:
	$(GO) build -o bin/walrelay ./cmd/server
