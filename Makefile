# Two commands do all set-up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The VOT toolkit lives in its own environment (setup.cfg, extra [vot]: it would install
# opencv-python over our opencv-python-headless); tests/tracking/test_vot_toolkit.py runs it
# through DMTRACK_VOT_PYTHON and launches `dmtrack vot` with .venv's Python.
VOT_VENV ?= .venv-vot
VOT_PACKAGES := 'vot-trax>=4.0.1,<5' 'vot-toolkit==0.9.0' 'attributee>=0.1.8,<0.1.10'

.PHONY: install test demo clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	# torch (PyTorch reference for the weight-import parity tests; CPU build). Where it cannot
	# be installed those tests skip with a reason; everything else still runs.
	$(PY) -m pip install -q -e '.[torch]' || echo "torch==2.13.0 not installable here: tests/convert parity tests will skip"
	# VOT toolkit ([vot] extra): TraX bindings for `dmtrack vot` here, the toolkit beside.
	$(PY) -m pip install -q 'vot-trax>=4.0.1,<5' || echo "vot-trax not installable here: dmtrack vot and its tests will skip"
	(test -x $(VOT_VENV)/bin/python || $(PYTHON) -m venv $(VOT_VENV)) && $(VOT_VENV)/bin/python -m pip install -q $(VOT_PACKAGES) || echo "vot-toolkit not installable here: the VOT toolkit test will skip"
	touch $(STAMP)

install: $(STAMP)

test: install
	DMTRACK_VOT_PYTHON=$$(test -x $(VOT_VENV)/bin/python && $(VOT_VENV)/bin/python -c 'import vot' 2>/dev/null && echo $(abspath $(VOT_VENV))/bin/python) \
	$(PY) -m pytest -q -n 2 --dist loadfile tests

demo: install
	$(VENV)/bin/dmtrack demo

clean:
	rm -rf $(VENV) $(VOT_VENV) build *.egg-info
