# `make test` and `make demo` create .venv when missing and install the pinned
# development requirements plus the package (editable) once; later runs reinstall nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench clean

$(STAMP): requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest tests

demo: $(STAMP)
	$(BIN)/ganas demo --out runs/demo

bench: $(STAMP)
	$(BIN)/python benchmarks/dcgan_throughput.py

clean:
	rm -rf $(VENV) runs
