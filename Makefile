# tapeviz developer commands. `make lab` and `make test` set up a fresh Debian machine:
# the system packages (graphviz, chromium, the Chinese font fonts-noto-cjk; installed with
# apt-get when run as root) and
# a virtual environment in .venv from binder/requirements.txt.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.stamp
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM  # browser tests: playwright chromium.launch(executable_path=os.environ["CHROMIUM"])
APT_PACKAGES := graphviz chromium fonts-noto-cjk
# A font with Chinese characters, for the drawings and plots of the Chinese notebooks.
CJK_FONT := Noto Sans CJK SC

# Paths that exist (git keeps no empty folders, so benchmarks/ may be missing).
LINT_PATHS := $(wildcard tapeviz tests benchmarks tools)
# The notebooks in English, and the same ones in Chinese (built from the same sources).
NOTEBOOKS_EN := $(sort $(wildcard notebooks/*.ipynb))
NOTEBOOKS    := $(NOTEBOOKS_EN) $(sort $(wildcard notebooks/zh/*.ipynb))
BENCHMARKS := $(sort $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py)))
START_NB   := notebooks/00_start_here.ipynb
# JupyterLab settings shipped with the project (no news pop-up, no update check); `make venv`
# puts them where JupyterLab reads them, as binder/postBuild does on Binder.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

# nbval options, used only when there are notebooks to check.
NBVAL_OPTS := $(if $(NOTEBOOKS),--nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg)
# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-m "not browser" -x'
PYTEST_ARGS ?=
# Extra arguments for jupyter lab, e.g. make lab LAB_ARGS='--no-browser --port 8899'
LAB_ARGS ?=

.PHONY: help system venv lab test lint typecheck pytest pytest-interpreter nbval-cpus \
        notebooks-execute bench fmt clean

help:
	@echo "make lab    - set up (system packages + .venv), start JupyterLab and open $(START_NB)"
	@echo "make test   - set up, then ruff, mypy, pytest (unit + browser tests + nbval), nbval with"
	@echo "              two other CPUs' arithmetic, and every notebook run by nbconvert"
	@echo "make venv   - create/update .venv from binder/requirements.txt (+ editable tapeviz)"
	@echo "make system - apt-get install $(APT_PACKAGES) (as root) if missing"
	@echo "make bench  - run benchmarks/*.py"
	@echo "make fmt    - ruff format + ruff check --fix"

# --- setup ------------------------------------------------------------------

system:
	@if command -v dot >/dev/null 2>&1 && [ -x "$(CHROMIUM)" ] \
	    && fc-list "$(CJK_FONT)" family 2>/dev/null | grep -q .; then \
	  echo "system: graphviz (dot), $(CHROMIUM) and the font $(CJK_FONT) present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "system: installing $(APT_PACKAGES) with apt-get"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update; \
	  apt-get install -y --no-install-recommends $(APT_PACKAGES); \
	else \
	  echo "system: missing packages. tapeviz needs the graphviz 'dot' binary, a Chinese" >&2; \
	  echo "        font ($(CJK_FONT)) for the Chinese notebooks and, for the browser" >&2; \
	  echo "        tests, Chromium at $(CHROMIUM). On Debian/Ubuntu run:" >&2; \
	  echo "            sudo apt-get update && sudo apt-get install $(APT_PACKAGES)" >&2; \
	  echo "        (elsewhere: install graphviz, Noto Sans CJK and Chromium, and pass" >&2; \
	  echo "        CHROMIUM=/path/to/chromium)" >&2; \
	  exit 1; \
	fi

venv: $(STAMP) $(LAB_SETTINGS)

$(STAMP): binder/requirements.txt pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar off -r binder/requirements.txt
	$(BIN)/python -m pip install --progress-bar off --no-deps -e .
	$(BIN)/python -c "import numba, numpy, graphviz, ipywidgets, anywidget, matplotlib, nbval"
	@touch $@

$(LAB_SETTINGS): binder/overrides.json | $(STAMP)
	mkdir -p $(@D)
	cp binder/overrides.json $@

# --- use --------------------------------------------------------------------

# Serves the repository root, so that the notebooks are at lab/tree/notebooks/... as on
# Binder and on a JupyterHub, and opens the start page.
lab: system venv
	@if [ "$$(id -u)" = 0 ]; then root=--allow-root; else root=; fi; \
	set -x; $(BIN)/jupyter lab $$root --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS) $(START_NB)

test: system venv lint typecheck pytest pytest-interpreter nbval-cpus notebooks-execute

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: venv
	$(BIN)/mypy tapeviz

# One pytest run: unit tests, browser tests (-m browser) and the notebooks (nbval).
# pytest exits 5 when it collected no test, and make fails on it: that is intended.
pytest: venv
	$(BIN)/python -m pytest tests $(NOTEBOOKS) $(NBVAL_OPTS) $(PYTEST_ARGS)

# tv.function's numpy interpreter (machines without numba, debugging): the compiled-vs-eager
# tests again with NUMBA_DISABLE_JIT=1, where every traced function runs on the interpreter.
pytest-interpreter: venv
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q tests/function

# The notebooks' outputs must not depend on the CPU.  `pytest` above checked them with this
# machine's arithmetic; here nbval checks them again as on two other machines: OpenBLAS's
# Haswell kernel with numpy's AVX2 loops (any AVX2 CPU), then OpenBLAS's Prescott kernel
# (SSE3, no fused multiply-add) with numpy's baseline loops (a CPU without AVX2).  The
# variables choose kernels at run time; features a CPU lacks are simply not used.
# OpenBLAS's Haswell kernel executes AVX2 and FMA instructions, so that pass runs only on a
# CPU that has them (elsewhere it would crash with an illegal instruction); it says so when
# it skips.  The Prescott pass (SSE3) runs on every x86-64 CPU.
NPY_NO_AVX512 := X86_V4 AVX512_ICL AVX512_SPR
NPY_NO_AVX2   := X86_V3 $(NPY_NO_AVX512)
CPU_HAS_AVX2_FMA := from numpy._core._multiarray_umath import __cpu_features__ as f; \
                    raise SystemExit(not (f.get("AVX2") and f.get("FMA3")))
nbval-cpus: venv
	$(if $(NOTEBOOKS),,$(error nbval-cpus: no notebooks/*.ipynb))
	@if $(BIN)/python -c '$(CPU_HAS_AVX2_FMA)'; then \
	  set -x; OPENBLAS_CORETYPE=Haswell NPY_DISABLE_CPU_FEATURES="$(NPY_NO_AVX512)" \
	    $(BIN)/python -m pytest -q $(NOTEBOOKS) $(NBVAL_OPTS); \
	else \
	  echo "nbval-cpus: SKIPPED the Haswell pass: this CPU has no AVX2/FMA, which OpenBLAS's Haswell kernel needs"; \
	fi
	OPENBLAS_CORETYPE=Prescott NPY_DISABLE_CPU_FEATURES="$(NPY_NO_AVX2)" \
	  $(BIN)/python -m pytest -q $(NOTEBOOKS) $(NBVAL_OPTS)

# Run All without a browser: every notebook runs to its last cell (a deliberate error is
# tagged raises-exception, so no --allow-errors).  The results go to a temporary folder.
# The English ones: a Chinese notebook has the same code and cell tags (a test checks it).
notebooks-execute: venv
	$(if $(NOTEBOOKS_EN),,$(error notebooks-execute: no notebooks/*.ipynb))
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	set -x; $(BIN)/jupyter nbconvert --to notebook --execute \
	  --ExecutePreprocessor.timeout=600 --output-dir "$$out" $(NOTEBOOKS_EN)

bench: venv
	@if [ -z "$(BENCHMARKS)" ]; then echo "bench: no benchmarks/*.py yet"; fi
	@for f in $(BENCHMARKS); do echo "== $$f"; $(BIN)/python $$f; done

fmt: venv
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
