# Outpost build, test and benchmark entry points.
GO        ?= go
PKGS      ?= ./...
BENCHTIME ?= 1s
FUZZTIME  ?= 5s

.PHONY: build run test testrace testshort bench fuzz lint rewrite stress

build:
	$(GO) build -o bin/outpost ./cmd/outpost

# A single node with its data in ./outpost-data.
run: build
	./bin/outpost start

# go vet plus every test; everything runs under the race detector since
# most packages are concurrent.
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 20m $(PKGS)

testrace: test

testshort:
	$(GO) test -short $(PKGS)

# Benchmarks print each operation beside the same one on a peer (raw Pebble,
# later PostgreSQL) and the ratio.
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./kv/ | $(GO) run ./cmd/benchratio

# A short run of every fuzz target.
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=$$(dirname $$f); \
		for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/func //'); do \
			echo "fuzz $$dir $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -parallel 1 $$dir; \
		done; \
	done

lint:
	$(GO) vet ./...
	$(GO) test -run 'TestForbiddenImports|TestGofmt' ./cmd/internal/lint/

# Rewrite datadriven expectations: make rewrite PKG=./kv/mvcc
rewrite:
	$(GO) test $(PKG) -rewrite

# Run tests repeatedly: make stress PKG=./kv TESTS=Bank
stress:
	$(GO) test -race -count 20 -run '$(TESTS)' $(PKG)
