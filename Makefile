# gridgeo: the two set-up commands are `make run` and `make test`; both create or
# refresh .venv from requirements.txt + constraints.txt first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8501

.PHONY: run test bench demo browser gdal static kernels lint clean help

help:
	@echo "make run    start the app on the bundled demo data (http://localhost:$(PORT))"
	@echo "make test   type-check gridgeo/ and run the whole test suite (installs chromium for the browser test)"
	@echo "make bench  run the benchmarks and print figures"
	@echo "make demo   regenerate data/demo from its seeded generator"

$(STAMP): requirements.txt constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $(STAMP)

# Leaflet and plugin JS/CSS served locally: no CDN is reachable offline.
static/vendor/.stamp: scripts/vendor_static.sh
	bash scripts/vendor_static.sh
	touch $@

static: static/vendor/.stamp

# Debian's chromium (Playwright's own download is impossible here) and CJK fonts.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -q "Noto Sans CJK" || { \
	  echo "installing chromium and fonts-noto-cjk with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# The partition search is compiled by numba on first use and cached in __pycache__ (about a minute,
# once per machine and per change of gridgeo/partition/_kernels.py); done here, not on a user's first click.
# Where numba cannot compile it, a warning says so and the pure-Python search runs instead.
kernels: $(STAMP)
	@$(BIN)/python -c "from gridgeo.partition import _kernels; _kernels.warm()"

run: $(STAMP) static kernels
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

# GDAL's command-line tools: the export tests open every file with ogrinfo, as QGIS users would.
gdal:
	@command -v ogrinfo >/dev/null 2>&1 || { echo "installing gdal-bin with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin >/dev/null; }

test: $(STAMP) static browser gdal kernels
	$(BIN)/python -m mypy gridgeo
	$(BIN)/python -m pytest

# bench/run.py is the partition benchmark; each capability adds bench/bench_<area>.py.
bench: $(STAMP) kernels
	$(BIN)/python bench/run.py
	@for f in bench/bench_*.py; do [ -e "$$f" ] || continue; echo "== $$f"; $(BIN)/python "$$f" || exit 1; done

demo: $(STAMP)
	$(BIN)/python scripts/make_demo.py

clean:
	rm -rf $(VENV) static/vendor .pytest_cache .hypothesis
