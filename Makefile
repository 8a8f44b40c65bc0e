# Two commands set up everything:  `make lab` (install + open the course)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test lint clean notebooks release grade

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)  ## install everything and open the course in JupyterLab
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: $(STAMP)  ## unit tests + every notebook (nbval), fast profile unless COURSE_PROFILE is set
	COURSE_PROFILE=$${COURSE_PROFILE:-fast} $(BIN)/python -m pytest --nbval-lax --nbval-current-env tests notebooks

lint: $(STAMP)
	$(BIN)/ruff check course_lib tests notebooks grading

clean:
	rm -rf $(VENV) .pytest_cache

notebooks: $(STAMP)  ## re-execute every notebook (fast profile) and store it with its outputs
	$(BIN)/python tests/store_notebook.py notebooks/*.ipynb

release: $(STAMP)  ## instructors: build the student notebooks in dist/student (see grading/README.md)
	$(BIN)/python -m grading release

SUBMISSIONS ?= submissions
grade: $(STAMP)  ## instructors: grade $(SUBMISSIONS)/ into grades.csv and feedback/
	$(BIN)/python -m grading grade $(SUBMISSIONS) --out grades.csv --feedback feedback
