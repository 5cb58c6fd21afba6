# The two commands: `make up` deploys the sample website locally, `make test` runs every test.
# Both create the virtualenv, install the project and make sure a Docker engine answers.

VENV ?= .venv
PY := $(VENV)/bin/python
# the plugin examples docs/plugin-authoring.md presents: installed; the suite runs their tests
EXAMPLES := docs/examples/deployer-byo-vpc docs/examples/deployer-bluegreen

.PHONY: up test test-seconds down install engine base-image bench

up: install base-image
	$(VENV)/bin/deployer up --target local
	$(VENV)/bin/deployer verify --target local

# Two test workers per core: the Docker tests wait on the engine far more than they compute.
# Each worker takes whole modules (or test classes), the longest first: tests/conftest.py
# orders them by tests/scope_seconds.json, which `make test-seconds` measures again.
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
PYTEST := $(PY) -m pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder

test: install base-image
	$(PYTEST)

test-seconds: install base-image
	$(PYTEST) --store-scope-seconds

down: install
	$(VENV)/bin/deployer down --target local

install: $(VENV)/.installed

# The editable install links each module of core/ and plugins/ into the package
# (editable_mode=strict), so that mypy resolves `deployer` as installed; it is redone
# when a module is added or removed (.modules lists them).
MODULES := $(VENV)/.modules
$(shell mkdir -p $(VENV) && find core plugins -name '*.py' -o -name py.typed | sort > $(MODULES).new \
	&& (cmp -s $(MODULES).new $(MODULES) || mv $(MODULES).new $(MODULES)); rm -f $(MODULES).new)

# uv installs what pip would (the same resolution) in less than half the time: 23 s
# against 52 s on a fresh clone, most of it compiling the bytecode, which pip does too.
$(VENV)/.installed: pyproject.toml $(EXAMPLES:%=%/pyproject.toml) $(MODULES)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q 'uv>=0.13,<0.14'
	$(VENV)/bin/uv pip install -q --python $(PY) --compile-bytecode -e '.[dev]' -C editable_mode=strict
	$(VENV)/bin/uv pip install -q --python $(PY) --compile-bytecode $(EXAMPLES:%=-e %)
	touch $@

engine:
	bash scripts/docker-engine.sh

base-image: engine
	bash scripts/base-image.sh

bench: install base-image
	$(PY) bench/local_bench.py --runs 10
	$(PY) bench/aws_plan_bench.py --runs 9
