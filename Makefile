# Two commands do all set-up on a fresh Debian 12 machine (as root):
#   make demo   bring the lab up, check, plan and apply the example contracts, show the result
#   make test   lint, unit tests, lab integration tests, Molecule scenarios
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TODAY  ?= 2026-12-01
export PATH := $(abspath $(BIN)):$(PATH)
export TRE_STATE ?= sqlite:////var/lib/tre/state.db

.PHONY: install lab demo test lint unit test-lab test-molecule bench clean-lab wheel

$(BIN)/tre: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/tre

# the checkout's lab inventory (tests, Molecule); `tre lab up` also points /etc/tre/tre.toml at it
lab: install
	tre lab up --inventory inventory/lab

# the wheel: the package with site.yml and the tre.secenv collection (docs/install.md)
wheel: install
	pip wheel -q --no-deps -w dist .
	@ls dist/tre-*.whl

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

# includes tests/lab/test_installed_wheel.py: the wheel in a fresh venv, `tre plan` from /
# under env -i PATH=/usr/bin:/bin, after the lab is up (docs/install.md)
test-lab: install
	pytest -m lab

# every molecule/*/molecule.yml, `vm` included: each scenario's dependency step installs what it
# needs (podman, runc, debootstrap; for vm qemu-system-x86, qemu-utils, xfsprogs, and builds
# the cached VM image: scripts/build-vm-image.sh), docs/molecule.md
test-molecule: install
	pytest -m molecule

test: lint unit test-lab test-molecule

bench: lab
	python bench/bench_ad.py
	python bench/bench_storage.py

clean-lab: install
	tre lab down
