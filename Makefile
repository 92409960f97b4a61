# Two commands on a fresh machine:  make demo  (sample data → fine-tune → evaluate → search)
#                                   make test  (the whole test suite)
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
RUN    := $(VENV)/bin/cosmos-run
# The constraints keep torch on the CPU build (an unconstrained resolve pulls multi-GB CUDA wheels).
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export HF_HUB_OFFLINE := 1
export WANDB_MODE ?= disabled
PACKAGES := packages/core packages/datasets packages/embed packages/transfer packages/export \
            plugins/cosmos-plugin-video-folder
STAMP := $(VENV)/.installed

.PHONY: env demo test test-unit lint clean-demo

env: $(STAMP)

$(STAMP): constraints.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch numpy
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation $(foreach p,$(PACKAGES),-e $(p))
	touch $(STAMP)

demo: env
	$(PY) -m cosmos_datasets.samples sample_data
	$(RUN) cosmos-embed1 train -e finetune_tiny
	$(RUN) cosmos-embed1 evaluate -e evaluate_tiny
	$(RUN) cosmos-embed1 inference -e inference_tiny

test: env
	$(PY) -m pytest -n 2 --dist loadgroup -q

test-unit: env
	$(PY) -m pytest -n 2 --dist loadgroup -q -m "not integration and not slow"

lint: env
	$(VENV)/bin/ruff check .

clean-demo:
	rm -rf sample_data results/cosmos_embed1_tiny
