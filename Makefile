# Two commands set up everything:  `make lab` (install + open the course)  and  `make test`.
# `make help` lists every target.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help lab test test-compat lint clean notebooks results colab wheel gpu-check release grade

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { \
	  echo "The course needs Python 3.10 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install a newer Python and run e.g. 'make lab PYTHON=python3.12'."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing the course and TensorFlow into $(VENV) (about 1 GB; a few minutes)..."
	$(BIN)/python -m pip install --progress-bar on -e ".[dev,lab]"
	touch $(STAMP)

lab: $(STAMP)  ## install everything and open the course in JupyterLab
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The tests run in TEST_WORKERS pytest-xdist processes, each pinned to its own CPUs
# (tests/course_plugin.py): a notebook keeps about one core busy, and a pinned process is not
# slowed by its neighbour, so the notebooks' timing asserts hold. --dist loadscope keeps each
# notebook (in order, in one kernel) and each test module (with its module-scoped fixtures) in
# one process; the longest units are queued first, the short unit-test modules even out the end.
TEST_WORKERS ?= 2

test: $(STAMP)  ## unit tests and every notebook (nbval), two processes; fast profile unless COURSE_PROFILE is set
	COURSE_PROFILE=$${COURSE_PROFILE:-fast} $(BIN)/python -m pytest -n $(TEST_WORKERS) \
	  --dist loadscope --no-loadscope-reorder --nbval-lax --nbval-current-env tests notebooks

test-compat:  ## maintainers: unit tests + notebook 01 in a Colab-like (3.13) and a floor (3.10) env
	tools/test_compat.sh colab
	tools/test_compat.sh floor

lint: $(STAMP)  ## ruff on the library, tests, tools, grading and notebooks
	$(BIN)/ruff check course_lib tests tools notebooks grading

clean:  ## remove the environments and caches
	rm -rf $(VENV) .compat .pytest_cache

notebooks: $(STAMP)  ## sync each .ipynb with its .py twin, re-execute (fast profile) and store
	$(BIN)/jupytext --sync notebooks/*.ipynb
	$(BIN)/python tools/store_notebook.py notebooks/*.ipynb

results: $(STAMP)  ## rebuild the README's results table from the notebooks' result lines
	$(BIN)/python tools/results.py --write README.md

colab: $(STAMP)  ## write [tool.course] repository/ref (pyproject.toml) into every badge and setup cell
	$(BIN)/python tools/colab.py
	$(BIN)/jupytext --sync notebooks/*.ipynb

wheel: $(STAMP)  ## build dist/course_lib-<version>-py3-none-any.whl (to upload to Colab)
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation --wheel-dir dist .

gpu-check: $(STAMP)  ## on an NVIDIA GPU: cuDNN really used, GPU benchmark rows, all notebooks in full
	$(BIN)/python tools/gpu_check.py

release: $(STAMP)  ## instructors: build the student notebooks in dist/student (grading/README.md)
	$(BIN)/python -m grading release

SUBMISSIONS ?= submissions
JOBS ?= 1
grade: $(STAMP)  ## instructors: grade $(SUBMISSIONS)/ into grades.csv, gradebook.csv, feedback/
	$(BIN)/python -m grading grade $(SUBMISSIONS) --out grades.csv --feedback feedback \
	  --gradebook gradebook.csv --jobs $(JOBS)
