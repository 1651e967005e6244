# Two entry points, each self-sufficient on a fresh clone: `make demo` and `make test`.
VENV ?= .venv
PYTHON := $(VENV)/bin/python

MODEL ?= runs/demo-cnn

.PHONY: demo test install install-app app mutation clean

$(VENV)/.installed: pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## Add the demo app's packages (gradio, selenium); the browser test also needs chromium + chromium-driver (.ci/run).
$(VENV)/.installed-app: $(VENV)/.installed
	$(PYTHON) -m pip install --quiet -e '.[dev,app]'
	touch $@

install-app: $(VENV)/.installed-app

## Serve the demo app on http://127.0.0.1:7860 for MODEL (a run folder or Hub id; default: make demo's run).
app: $(VENV)/.installed-app
	$(PYTHON) scripts/app.py --model $(MODEL)

## Train the scratch CNN on the built-in synthetic houses (offline) and print its test accuracy.
demo: $(VENV)/.installed
	$(VENV)/bin/accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no --dynamo_backend no \
		scripts/train.py --model cnn --output_dir runs/demo-cnn

## Run the test suite (offline, tiny configs).
test: $(VENV)/.installed
	$(PYTHON) -m pytest

## Mutation testing (minutes, not part of `make test`): named mutations of the builder, heads, collator, transforms
## and issue 13's breakages, each run against its tests on a copy of HEAD; prints killed/survived and the survivors.
mutation: $(VENV)/.installed
	$(PYTHON) scripts/mutation_test.py

clean:
	rm -rf $(VENV) runs
