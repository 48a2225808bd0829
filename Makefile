# Fabrica — `make demo` and `make test` are the only set-up commands a new machine needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FORGE := $(CURDIR)/node_modules/.bin/forge
export PATH := $(CURDIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# ape-solidity finds compilers through py-solc-x's folder: point it at our solc-js adapter.
export SOLCX_BINARY_PATH := $(CURDIR)/.cache/solcx
# The dApp (gateway/web): its own exact npm lock; the build (dist/, not committed) is what `fabrica gateway serve`
# serves at /. Rebuilt only when its sources, its lock or the contract artifacts it imports change.
WEB := gateway/web
WEB_SOURCES := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json \
	$(wildcard protocol/artifacts/*.json)

.PHONY: peers-lock install demo demo-stop test test-contracts test-python build artifacts gas-snapshot slither lint clean lock

install: $(VENV)/.installed $(VENV)/.bytecode node_modules/.installed .cache/solcx/solc-v0.8.37 .venv-peers/.lock.sha256 $(WEB)/dist/index.html
	bash scripts/slicer-setup.sh
	bash scripts/chromium-setup.sh  # the dApp's browser tests drive Debian's Chromium through Playwright
	$(BIN)/python -m compileall -qq protocol validators miners indexer gateway node-client  # see $(VENV)/.bytecode
	$(BIN)/python -m fabrica.miners.solvers.warmup  # the miner's tabu kernels into .cache/numba, not into its first solve

# Test peers (OctoPrint's virtual printer, Printrun) in their own venv: their pins conflict with ours.
.venv-peers/.lock.sha256: requirements-peers.lock scripts/peers-setup.sh
	bash scripts/peers-setup.sh

peers-lock:  ## re-resolve the test peers' venv (then commit requirements-peers.lock)
	bash scripts/peers-setup.sh --lock

.cache/solcx/solc-v0.8.37: scripts/ape-setup.sh node_modules/.installed
	bash scripts/ape-setup.sh

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Fabrica needs Python 3.11, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# Bytecode for everything installed: uv writes none, and where PYTHONDONTWRITEBYTECODE is set Python never would,
# so every `fabrica` command would compile web3, pydantic & co. from source before it starts (bench/cli.py).
$(VENV)/.bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib/python3.11/site-packages
	touch $@

# `npm ci` installs exactly what package-lock.json pins (it lists every platform's optional Foundry binary;
# only this platform's is downloaded) and fails if the lock and package.json disagree.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error
	touch $@

$(WEB)/dist/index.html: $(WEB)/node_modules/.installed $(WEB_SOURCES)
	npm run build --prefix $(WEB)
	find $(WEB)/dist -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \) -exec gzip -k -9 -f {} +
	touch $@

lock:  ## re-resolve Python dependencies (then commit requirements.lock)
	$(BIN)/uv pip compile pyproject.toml --extra ape --extra subnet --extra indexer --extra node --extra gateway --extra dev --python-version 3.11 -o requirements.lock

build: install
	cd contracts && $(FORGE) build

artifacts: build  ## regenerate protocol/artifacts from forge output
	$(BIN)/python scripts/gen_artifacts.py

demo: install  ## run one job end to end on a fresh devnet, then mirror it into SQL and check the mirror
	bash scripts/demo-services.sh stop  # a previous demo's indexer and gateway hold the old index
	$(BIN)/fabrica demo
	rm -f .fabrica/demo-index.db
	$(BIN)/fabrica indexer sync --db sqlite:///.fabrica/demo-index.db
	$(BIN)/fabrica indexer verify --db sqlite:///.fabrica/demo-index.db
	bash scripts/demo-services.sh  # the indexer keeps following the devnet; the gateway serves it

demo-stop:  ## stop the demo's indexer and gateway (the devnet: `fabrica devnet down`)
	bash scripts/demo-services.sh stop

test: install
	$(BIN)/ruff check protocol validators miners indexer gateway node-client tests scripts bench
	cd contracts && $(FORGE) build
	$(BIN)/python scripts/gen_artifacts.py --check
	$(MAKE) --no-print-directory test-contracts
	$(BIN)/python scripts/gas_snapshot.py --check
	bash scripts/slither.sh
	$(BIN)/python -m pytest -q

test-contracts: install
	cd contracts && FOUNDRY_PROFILE=$(if $(CI),ci,default) $(FORGE) test

gas-snapshot: build  ## accept the current per-operation gas as the new baseline
	$(BIN)/python scripts/gas_snapshot.py --update

slither: install
	bash scripts/slither.sh

lint: install
	$(BIN)/ruff check protocol validators miners indexer gateway node-client tests scripts bench

clean:
	rm -rf contracts/out contracts/cache .build .cache
