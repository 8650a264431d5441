# μNet — see README.md. `make demo` and `make test` are the two entry points.
GO        ?= go
BIN       := bin
GOFLAGS   ?=
FUZZTIME  ?= 30s
PKGS      := ./...

.PHONY: all build deps test vet fmt-check unit fuzz bench demo clean wasm

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/...

# Everything CI runs: formatting, vet, unit and integration tests (real
# embedded etcd, real HTTP, the built binaries) and the fuzz seed corpora
# (go test runs every Fuzz* function over its testdata/fuzz corpus).
test: deps fmt-check vet unit

# OS packages the tests and the demo need (Net-SNMP, snmpsim, ClickHouse server), installed when missing.
deps:
	./deploy/install-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -count=1 -timeout 15m $(PKGS)

# The hand-written Go policy modules (policies-wasm/*/main.go) as wasip1
# reactors in policies-wasm/build/. The tests that run them build them
# themselves, so `go test` needs no `make wasm` first.
WASM_GUESTS := interface-errors version-by-model
wasm:
	@mkdir -p policies-wasm/build
	@for g in $(WASM_GUESTS); do \
		echo "policies-wasm/build/$$g.wasm"; \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o policies-wasm/build/$$g.wasm ./policies-wasm/$$g || exit 1; \
	done

# Longer fuzzing, by hand: make fuzz FUZZTIME=5m
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Component benchmarks; end-to-end ones live under bench/ (see bench/RESULTS.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 $(PKGS)

# ClickHouse, a collector on embedded etcd, 1,000 simulated devices and three agents (deploy/demo.sh).
demo: deps build
	./deploy/demo.sh

clean:
	rm -rf $(BIN) .run

# Regenerate shared/wire's protobuf code (committed) after editing wire.proto.
# Needs protoc (Debian: protobuf-compiler); installs the matching protoc-gen-go.
.PHONY: proto
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc --go_out=. --go_opt=module=github.com/unet-project/unet shared/wire/wire.proto
