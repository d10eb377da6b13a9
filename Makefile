# Set-up and main jobs. Every target is idempotent: a second `make test` skips set-up in seconds.
#   make run     set up, then run the main job (python scripts/loopback.py on the default link)
#   make test    set up, then run the test suite
#   make gpu-check  on a CUDA machine: bench_purify on the GPU with bf16, an EOT-100 image-defense cell, the quick evaluation
#   make bench   set up, then run the PHY, purification, GNU Radio link and evaluation scale-out benchmarks (JSON in results/bench_*.json)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
APT_PACKAGES := gnuradio dataset-fashion-mnist libiio-utils python3-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PY := $(VENV)/bin/python

.PHONY: setup system venv run test bench gpu-check clean
setup: system venv

# Debian packages: installed only when one is missing (dpkg-query is quick).
system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test]"
	@touch $@

run: setup
	$(PY) scripts/loopback.py

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) scripts/bench_phy.py --json results/bench_phy.json
	$(PY) scripts/bench_purify.py --json results/bench_purify.json
	$(PY) scripts/bench_link.py --json results/bench_link.json
	$(PY) scripts/bench_evaluate.py --json results/bench_evaluate.json

gpu-check: setup
	$(PY) scripts/gpu_check.py --json results/gpu_check.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
