# The two commands a reader needs: `make book` and `make test` (both set everything up on a fresh
# clone). `make help` lists the rest.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
VENDORED := book/_vendor/ASSETS.json
# Chapter 7's browser page: its model and data, built from the library (not committed).
EDGE_MODEL := book/_vendor/edge-model/slates.json
SITE := _build/html
COMMITTED_BUILD := _build/committed
COMMITTED_SITE := $(COMMITTED_BUILD)/_build/html
PORT ?= 8000
# Reproducible numbers: BLAS and OpenMP use the same thread count as on the 2-core CI machine.
export OMP_NUM_THREADS ?= 2
export OPENBLAS_NUM_THREADS ?= 2
export MKL_NUM_THREADS ?= 2
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Two processes side by side, each with two spinning OpenMP threads on two cores, slow each other
# down badly (chapters 1 and 2 side by side took over five minutes where each alone takes forty
# seconds). So idle OpenMP threads sleep instead (OMP_WAIT_POLICY=PASSIVE, which changes no
# result), for the library tests on their two workers and for the notebooks too: beside one busy
# process chapter 6 took 233 s with spinning threads and 55 s with sleeping ones, and alone the
# two are within noise of each other (56.3 s spinning, 54.9 s sleeping, 2026-12-01). `make
# execute` keeps the default policy, a reader's, so the pages show a reader's timings and the
# tests check that every claim holds under both.
LIB_OMP := OMP_WAIT_POLICY=PASSIVE

.PHONY: help book test lab serve install vendor lock test-lib test-notebooks test-notebooks-portable test-outline \
        test-site system-deps execute bench clean site-committed

# Another CPU, emulated: generic BLAS and torch kernels instead of the ones this machine's CPU
# allows. Checked outputs must hold under both (they are printed at a precision that does).
PORTABLE_ENV := OPENBLAS_CORETYPE=Prescott MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default DMLS_NBVAL_LABEL=portable
# One notebook at a time: each already uses both cores (setup() gives BLAS and OpenMP two
# threads), so two side by side were no faster (90 s against 83 s for chapters 1 and 2).
NBVAL := $(LIB_OMP) $(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
    --nbval-cell-timeout=300 -p no:cacheprovider notebooks

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# ----------------------------------------------------------------------------- environment
$(INSTALLED): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$$(grep -E '^pip==' requirements.lock | cut -d' ' -f1)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

install: $(INSTALLED)  ## create .venv with the exact versions in requirements.lock

$(VENDORED): tools/vendor_assets.py | $(INSTALLED)
	$(BIN)/python tools/vendor_assets.py

vendor: $(VENDORED)  ## fetch the scripts the site serves itself (require.js, ipywidgets, MathJax, ONNX Runtime Web)

$(EDGE_MODEL): tools/build_edge_model.py $(VENDORED) $(shell find lib/dmls -name '*.py') requirements.lock | $(INSTALLED)
	$(LIB_OMP) $(BIN)/python tools/build_edge_model.py $(dir $@)

lock: $(INSTALLED)  ## re-resolve requirements.lock and environment.yml from pyproject.toml
	$(BIN)/pip-compile --quiet --all-extras --strip-extras --allow-unsafe --annotation-style=line \
	    --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml
	$(BIN)/python tools/write_environment.py requirements.lock environment.yml

# ----------------------------------------------------------------------------- the book
book: $(INSTALLED) $(VENDORED) $(EDGE_MODEL)  ## execute every notebook and build the site into _build/html
	@$(BIN)/python tools/cache_key.py _build
	$(BIN)/jupyter-book build . -W -n --keep-going

site-committed: $(INSTALLED) $(VENDORED) $(EDGE_MODEL)  ## build the site from the committed notebook outputs, without running them (make test, after nbval)
	$(BIN)/jupyter-book build . -W -n --keep-going --path-output $(COMMITTED_BUILD) \
	    --config "$$($(BIN)/python tools/committed_config.py $(COMMITTED_BUILD))"

serve: ## serve the built site on http://localhost:$(PORT)
	@test -f $(SITE)/index.html || { echo "no site yet: run make book"; exit 1; }
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory $(SITE)

lab: $(INSTALLED)  ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks

execute: $(INSTALLED)  ## re-execute the notebooks in place, top to bottom in fresh kernels (before committing them)
	$(BIN)/python tools/execute_notebooks.py notebooks/*.ipynb

# ----------------------------------------------------------------------------- tests
test: $(INSTALLED) $(VENDORED) system-deps  ## run every check: library, notebooks, the built site in a browser
	@start=$$(date +%s); t=$$start; lap() { now=$$(date +%s); times+=("$$1 $$((now - t)) s"); t=$$now; }; times=(); \
	$(MAKE) --no-print-directory test-lib; lap "library tests"; \
	$(MAKE) --no-print-directory test-notebooks; lap "notebooks"; \
	$(MAKE) --no-print-directory site-committed; lap "site build"; \
	DMLS_SITE=$(COMMITTED_SITE) $(BIN)/python -m pytest -p no:cacheprovider tests/site; lap "browser tests"; \
	echo "== make test passed in $$(( $$(date +%s) - start )) s: $$(IFS=,; echo "$${times[*]}" | sed 's/,/, /g')"

system-deps:  ## install Chromium and redis-server if missing (apt-get), or say what to install
	@tools/system_deps.sh

test-lib: $(INSTALLED)  ## unit, property and statistical tests of lib/, with coverage; outline, hygiene, pins
	$(LIB_OMP) $(BIN)/python -m pytest tests --ignore=tests/site -n 2 --dist loadfile -p no:cacheprovider \
	    --cov=dmls --cov-report=term --cov-report=html:_build/coverage

test-notebooks: $(INSTALLED)  ## run every notebook; compare the outputs marked NBVAL_CHECK_OUTPUT
	$(NBVAL)

test-notebooks-portable: $(INSTALLED)  ## the notebooks again with generic BLAS and torch kernels (CI runs it after make test)
	$(PORTABLE_ENV) $(NBVAL)

test-site: $(INSTALLED)  ## open the built site in headless Chromium, offline
	$(BIN)/python -m pytest tests/site

bench: $(INSTALLED)  ## run the benchmarks, print their figures, fail below their targets
	$(BIN)/python benchmarks/bench_world.py --check
	$(BIN)/python benchmarks/bench_data.py --check
	$(BIN)/python benchmarks/bench_distributed.py --check
	$(BIN)/python benchmarks/bench_intervals.py --check
	$(BIN)/python benchmarks/bench_interval_paths.py --check
	$(BIN)/python benchmarks/bench_serving.py --check
	$(BIN)/python benchmarks/bench_notebooks.py --check

clean:  ## remove the built site and caches (keeps .venv)
	rm -rf _build .pytest_cache .hypothesis
