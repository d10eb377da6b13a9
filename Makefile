# Set-up and main jobs. Every target is idempotent: a second `make test` skips set-up in seconds.
#   make run     set up, then run the main job (python scripts/loopback.py on the default link)
#   make test    set up, then run the test suite
#   make gr-blocks  (part of setup) GNU Radio's Python imports semcom_phy.gr and GRC lists its blocks
#   make gr-blocks-remove  undo gr-blocks (the .pth file and the block links it made, nothing else)
#   make gpu-check  on a CUDA machine: bench_purify on the GPU with bf16, an EOT-100 image-defense cell, the quick evaluation
#   make bench   set up, then run the PHY, purification, GNU Radio link and evaluation scale-out benchmarks (JSON in results/bench_*.json)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
APT_PACKAGES := gnuradio dataset-fashion-mnist libiio-utils python3-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PY := $(VENV)/bin/python

.PHONY: setup system venv gr-blocks gr-blocks-remove run test bench gpu-check clean
setup: system venv gr-blocks

# The project's GNU Radio blocks for Debian's Python and GRC, without copying files: a .pth file in
# that Python's user site (one line: build/gr-python, which holds only a link to semcom_phy/) and
# one link per block YAML in ~/.grc_gnuradio (a folder GRC searches for blocks). A file there that
# is not our link is left alone, with a message.
GR_PY := /usr/bin/python3
GRC_USER_DIR ?= $(HOME)/.grc_gnuradio
gr-blocks:
	@if [ -x $(GR_PY) ] && $(GR_PY) -c "import gnuradio.gr" 2>/dev/null; then ( \
	  site=$$($(GR_PY) -m site --user-site) && mkdir -p "$$site" build/gr-python && \
	  ln -sfn "$(CURDIR)/semcom_phy" build/gr-python/semcom_phy && \
	  echo "$(CURDIR)/build/gr-python" > "$$site/semcom_phy.pth" && \
	  mkdir -p "$(GRC_USER_DIR)" && for f in semcom_phy/gr/grc/*.yml; do \
	    t="$(GRC_USER_DIR)/$$(basename $$f)"; \
	    if [ -e "$$t" ] && [ ! -L "$$t" ]; then echo "$$t exists and is not ours: left as it is"; \
	    else ln -sfn "$(CURDIR)/$$f" "$$t"; fi; \
	  done ) || echo "could not install the GNU Radio blocks for $(GR_PY) and GRC (is the home folder writable?)"; \
	else echo "GNU Radio not importable under $(GR_PY): the GNU Radio blocks are not installed"; fi

gr-blocks-remove:
	@site=$$($(GR_PY) -m site --user-site 2>/dev/null) && rm -f "$$site/semcom_phy.pth"; \
	for f in semcom_phy/gr/grc/*.yml; do t="$(GRC_USER_DIR)/$$(basename $$f)"; [ -L "$$t" ] && rm -f "$$t"; done; \
	rm -rf build/gr-python; true

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
