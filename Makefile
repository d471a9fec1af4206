# `make train` sets up .venv on first use and trains the default agent; `make test` runs the tests.
PYTHON ?= python3
# pip arguments for torch, installed first so that nothing else pulls another build. The default
# is a CPU wheel that lies on this machine's disk; on a GPU machine add the CUDA wheel index.
TORCH ?= torch==2.13.0
# pip arguments for TensorFlow, for the tfa-* agents. The CPU wheel by default; on a GPU machine
# use TENSORFLOW="tensorflow[and-cuda]==2.21.0".
TENSORFLOW ?= tensorflow-cpu==2.21.0
VENV ?= .venv
BIN := $(VENV)/bin

# Processes for `make test` (pytest-xdist; each test file stays on one of them, with its
# module fixtures). TEST_WORKERS=0 runs the tests in this process, one at a time.
TEST_WORKERS ?= 2

AGENT ?= dqn
ENV ?= CartPole-v1
ARGS ?=

.PHONY: train test lint format bench clean tfagents atari

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.core
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

$(VENV)/.sb3: $(VENV)/.core
	$(BIN)/pip install -q -e ".[sb3]"
	touch $@

$(VENV)/.atari: $(VENV)/.core
	$(BIN)/pip install -q -e ".[atari]"
	touch $@

$(VENV)/.bench: $(VENV)/.core
	$(BIN)/pip install -q -e ".[bench]"
	touch $@

$(VENV)/.ray: $(VENV)/.core
	$(BIN)/pip install -q -e ".[ray]"
	touch $@

$(VENV)/.tune: $(VENV)/.core
	$(BIN)/pip install -q -e ".[tune]"
	touch $@

$(VENV)/.wandb: $(VENV)/.core
	$(BIN)/pip install -q -e ".[wandb]"
	touch $@

$(VENV)/.video: $(VENV)/.core
	$(BIN)/pip install -q -e ".[video]"
	touch $@

# TF-Agents 0.19.0 pins packages that clash with torch and numpy 2 (see pyproject.toml), so it,
# tf-keras (which would pull the `tensorflow` wheel beside $(TENSORFLOW)) and the old gym that
# tf_agents.system imports go in with --no-deps after the rest of the extra.
$(VENV)/.tfagents: $(VENV)/.core
	$(BIN)/pip install -q $(TENSORFLOW) -e ".[tfagents]"
	$(BIN)/pip install -q --no-deps tf-keras==2.21.0 tf-agents==0.19.0 gym==0.23.1
	touch $@

tfagents: $(VENV)/.tfagents

atari: $(VENV)/.atari

train: $(VENV)/.core
	$(BIN)/rlbox train $(AGENT) $(ENV) $(ARGS)

# The sb3, tfagents, atari, video, ray, tune and wandb extras too, so that baselines, Atari,
# recordings, the Ray launcher, tuning and tracking are tested wherever tests run.
test: $(VENV)/.dev $(VENV)/.sb3 $(VENV)/.tfagents $(VENV)/.atari $(VENV)/.video $(VENV)/.ray \
      $(VENV)/.tune $(VENV)/.wandb
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.bench
	$(BIN)/python experiments/bench_dqn_vs_sb3.py

clean:
	rm -rf $(VENV) build *.egg-info
