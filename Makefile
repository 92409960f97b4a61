# Two commands on a fresh machine:  make demo  (Cosmos-Embed1: sample data → fine-tune → evaluate → search;
#                                              Cosmos-Transfer1: clips → T5 → edge control → train, stop,
#                                              resume → generate)
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

.PHONY: env demo demo-transfer test test-unit lint pants-check clean-demo

env: $(STAMP)

$(STAMP): constraints.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch numpy
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation $(foreach p,$(PACKAGES),-e $(p))
	touch $(STAMP)

TRANSFER_DEMO := CTRL_tiny_lvg_17frames_control_input_edge_block3_pretrain

# The bundled specs hold settings only; the demo names its generated data the way a user names theirs.
SAMPLES := sample_data
data = dataset.$(1)_dataset.metadata=$(SAMPLES)/metadata.json dataset.$(1)_dataset.data_root=$(SAMPLES)

demo: env
	$(PY) -m cosmos_datasets.samples $(SAMPLES)
	$(RUN) cosmos-embed1 train -e finetune_tiny $(call data,train) $(call data,val)
	$(RUN) cosmos-embed1 evaluate -e evaluate_tiny $(call data,test)
	$(RUN) cosmos-embed1 inference -e inference_tiny $(call data,inference) \
	    'inference.query.input_videos=[$(SAMPLES)/videos/red_square_right_000.mp4]'
	$(MAKE) --no-print-directory demo-transfer

# The tiny Cosmos-Transfer1 path: generated clips, T5 embeddings from a random tiny T5 (no downloads),
# the small video autoencoder, edge-controlled training stopped at iteration 30 as a time-limited job
# would be and resumed by the same command, then one generated clip.
demo-transfer: env
	$(PY) -m cosmos_transfer.data.shapes datasets/tiny_shapes --clips 16 --frames 33
	$(PY) -m cosmos_transfer.preprocess.random_models t5 checkpoints/tiny/t5
	$(RUN) cosmos-transfer1 t5_embeddings --dataset_path datasets/tiny_shapes --pretrained_model_name_or_path checkpoints/tiny/t5
	$(RUN) cosmos-transfer1 train_tokenizer --dataset_path datasets/tiny_shapes --output checkpoints/tiny/video_autoencoder.pt --steps 80
	$(RUN) cosmos-transfer1 train -- experiment=$(TRANSFER_DEMO) trainer.callbacks.stop_after.iteration=30
	$(RUN) cosmos-transfer1 train -- experiment=$(TRANSFER_DEMO)
	$(RUN) cosmos-transfer1 generate -- experiment=$(TRANSFER_DEMO) generate.input_video=datasets/tiny_shapes/videos/shapes_003.mp4 \
	    'generate.prompt=a red disc moving up' generate.t5_model=checkpoints/tiny/t5

test: env
	$(PY) -m pytest -n 2 --dist loadgroup -q

test-unit: env
	$(PY) -m pytest -n 2 --dist loadgroup -q -m "not integration and not slow"

lint: env
	$(VENV)/bin/ruff check .

# Pants 2.17.1 on the BUILD files: `tailor --check ::` (every file owned), `list ::`, `dependencies ::`
# (every import owned, unowned ones fail). Pants 2.x wheels on PyPI are cp39-only and stop at 2.17.1,
# and the scie-pants launcher and the PEX binary live on GitHub releases, which this network cannot
# reach. So a Python 3.9 venv (build/pants-venv) gets `pip install pantsbuild.pants==2.17.1` from the
# package index (48 MB, ~15 s, once), and pants.toml selects Pants' Rust import parser, so these goals
# download nothing (no PEX CLI, no interpreter probe). pantsd is off: no daemon is left running.
# PANTS_PYTHON=/path/to/python3.9 picks another interpreter. `pants test` and `package` would also need
# a local PEX CLI ([pex-cli] url_template, see shared/reference/ecosystem.md section 4).
PANTS_PYTHON ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.9.*/bin/python) \
                            $(shell command -v python3.9 2>/dev/null))
PANTS := build/pants-venv/bin/pants --no-pantsd

pants-check:
	@test -n "$(PANTS_PYTHON)" || { echo "pants-check: Pants 2.17.1 runs only on Python 3.9 and none was found;" \
	    "install one (pyenv install 3.9) or pass PANTS_PYTHON=/path/to/python3.9" >&2; exit 2; }
	@test -x build/pants-venv/bin/pants || { echo "pants-check: installing Pants 2.17.1 into build/pants-venv" && \
	    $(PANTS_PYTHON) -m venv build/pants-venv && build/pants-venv/bin/pip install --disable-pip-version-check \
	    pantsbuild.pants==2.17.1 > build/pants-install.log 2>&1; } || \
	    { tail -5 build/pants-install.log >&2; rm -rf build/pants-venv; echo "pants-check: pip could not install" \
	      "pantsbuild.pants==2.17.1 into a Python 3.9 venv (log: build/pants-install.log); it needs the package" \
	      "index or a mirror holding its cp39 wheels" >&2; exit 2; }
	$(PANTS) tailor --check ::
	$(PANTS) list :: > build/pants-targets.txt
	$(PANTS) dependencies :: > build/pants-dependencies.txt
	@echo "pants-check: $$(wc -l < build/pants-targets.txt) targets, $$(wc -l < build/pants-dependencies.txt)" \
	    "dependency addresses; listed in build/pants-targets.txt and build/pants-dependencies.txt"

clean-demo:
	rm -rf sample_data results/cosmos_embed1_tiny datasets/tiny_shapes checkpoints/tiny checkpoints/cosmos_transfer1_tiny_pretrain
