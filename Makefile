# walrelay: the README's two commands are `make demo` and `make test`.
GO ?= go

.PHONY: demo app test vet build sdk-test e2e inspector-e2e deps demo-deps realtime-js

# The chat demo: build the web app, then a throwaway Postgres with the demo
# schema, served with the app at http://127.0.0.1:8080.
demo: demo-deps app build
	./bin/walrelay demo

# What the machine needs (scripts/deps.sh): as root on Debian/Ubuntu it is
# installed, otherwise one line names what is missing and how to install it.
# `deps` is everything `make test` needs (also Chromium and gcc); .ci/run
# relies on it too.
deps:
	@GO=$(GO) sh scripts/deps.sh test

demo-deps:
	@GO=$(GO) sh scripts/deps.sh demo

# The chat app (examples/chat), built into examples/chat/dist.
app:
	cd examples/chat && npm ci --no-audit --no-fund && npm run build

# All tests: vet, then every Go package (unit, integration against a real
# Postgres, fuzz seed corpora) under the race detector, then the SDK's.
test: deps vet
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) sdk-test
	$(MAKE) realtime-js
	$(MAKE) e2e
	$(MAKE) inspector-e2e

# The TypeScript SDK: typecheck, unit tests, and integration tests against a
# walrelay built from this tree (its globalSetup builds and starts it).
sdk-test:
	cd sdk && npm ci --no-audit --no-fund && npm test

vet:
	$(GO) vet ./...

build:
	$(GO) build -o bin/walrelay ./cmd/server

# The Supabase Realtime adapter (docs/supabase.md) with the real, pinned
# @supabase/realtime-js from node, against the real server and Postgres.
realtime-js: deps
	cd compat/realtime-js && npm ci --no-audit --no-fund && npm test

# End-to-end: the chat app in headless Chromium (Debian's /usr/bin/chromium,
# driven by playwright-core), two users, the real server and Postgres.
e2e: deps app
	cd e2e && npm ci --no-audit --no-fund && npm test

# The inspector at /_/ in headless Chromium: an admin's token, a live
# connection, an event on a watched channel.
inspector-e2e: deps
	cd e2e && npm ci --no-audit --no-fund && npm run test:inspector
