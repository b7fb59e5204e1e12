# Two commands do all set-up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test demo clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	# torch (PyTorch reference for the weight-import parity tests; CPU build). Where it cannot
	# be installed those tests skip with a reason; everything else still runs.
	$(PY) -m pip install -q -e '.[torch]' || echo "torch==2.13.0 not installable here: tests/convert parity tests will skip"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m pytest -q -n 2 --dist loadfile tests

demo: install
	$(VENV)/bin/dmtrack demo

clean:
	rm -rf $(VENV) build *.egg-info
