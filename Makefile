# The README's two commands. Both create .venv when it is missing and install medpipe into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test test-all install clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned: on a CPU machine this takes the local CPU wheel; see README for CUDA.
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[test,dist]"
	# topolosses ships the Betti-Matching-3D reference as a prebuilt extension (a test oracle);
	# its declared dependencies drag in torchvision and a CUDA torch, so install it alone.
	$(PIP) install --quiet --no-deps "topolosses==0.2.0"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/medpipe demo demo_out/

test: install
	$(PY) -m pytest -q -p no:cacheprovider

test-all: install
	$(PY) -m pytest -q -p no:cacheprovider -m ""

clean:
	rm -rf $(VENV) demo_out
