# Outpost build, test and benchmark entry points.
GO        ?= go
PKGS      ?= ./...
BENCHTIME ?= 1s
FUZZTIME  ?= 5s

.PHONY: build run test testrace testshort bench fuzz lint rewrite stress pgcheck

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

# Benchmarks print each operation beside the same one on a peer and the
# ratio: kv against raw Pebble; SQL through pgx against PostgreSQL 15,
# started here on a loopback port with default settings (apt-get install
# postgresql-15 first; without it only Outpost's numbers print).
PGBIN ?= /usr/lib/postgresql/15/bin
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./kv/ | $(GO) run ./cmd/benchratio
	@set -e; if [ ! -x $(PGBIN)/initdb ]; then \
		echo "PostgreSQL 15 not installed: SQL benchmarks run without the peer"; \
		$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./cmd/internal/server/ | $(GO) run ./cmd/benchratio; exit 0; fi; \
	dir=$$(mktemp -d); chown postgres $$dir; \
	runuser -u postgres -- $(PGBIN)/initdb -D $$dir/data -A trust -U postgres >/dev/null; \
	runuser -u postgres -- $(PGBIN)/pg_ctl -D $$dir/data -o "-p 5499 -k $$dir -c listen_addresses=127.0.0.1" -l $$dir/log -w start >/dev/null; \
	trap "runuser -u postgres -- $(PGBIN)/pg_ctl -D $$dir/data -m fast stop >/dev/null; rm -rf $$dir" EXIT; \
	OUTPOST_BENCH_PG="postgres://postgres@127.0.0.1:5499/postgres?sslmode=disable" \
		$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./cmd/internal/server/ | $(GO) run ./cmd/benchratio

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

# Check the logic test expectations against a real PostgreSQL 15:
# make pgcheck PGDSN='postgres://postgres:postgres@127.0.0.1:5432/%s'
pgcheck:
	OUTPOST_LOGIC_DSN='$(PGDSN)' $(GO) test -count=1 -run 'TestLogic$$' ./cmd/internal/server/
