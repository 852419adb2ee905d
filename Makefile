# Two commands do all set-up on a fresh Debian 12 machine (as root):
#   make demo   bring the lab up, check, plan and apply the example contracts, show the result
#   make test   lint, unit tests, lab integration tests, Molecule scenarios
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TODAY  ?= 2026-12-01
export PATH := $(abspath $(BIN)):$(PATH)
export TRE_STATE ?= sqlite:////var/lib/tre/state.db

.PHONY: install lab demo test lint unit test-lab test-molecule bench clean-lab

$(BIN)/tre: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/tre

lab: install
	tre lab up

demo: lab
	tre contract check examples/contracts/
	tre contract quote examples/contracts/9002-typical.yaml
	tre plan examples/contracts/ --today $(TODAY)
	tre apply examples/contracts/ --today $(TODAY) --yes
	tre project show 9001

lint: install
	ruff check .
	ruff format --check .

unit: install
	pytest -m "not lab and not molecule"

test-lab: install
	pytest -m lab

test-molecule: install
	pytest -m molecule

test: lint unit test-lab test-molecule

bench: lab
	python bench/bench_ad.py
	python bench/bench_storage.py

clean-lab: install
	tre lab down
