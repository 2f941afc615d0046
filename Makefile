# The two commands a new user runs: `make demo` (main job on real data) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv demo test bench clean

$(BIN)/onnxnet: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/onnxnet

demo: venv
	bash scripts/demo.sh

test: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf runs results
