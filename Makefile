# The README's commands. Each target creates .venv when it is missing.
# torch is installed first, pinned, so pip takes the local CPU wheel instead of a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench faults report screenshot clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/irlbench run lfl-table1 --store runs/demo
	$(BIN)/irlbench run lfl-table2 --seeds 2 --store runs/demo
	$(BIN)/irlbench report --store runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/table2_speed.py
	$(BIN)/python bench/gridworld_cost.py quick
	$(BIN)/python bench/report_speed.py
	$(BIN)/python bench/mujoco_speed.py --tasks hopper halfcheetah
	$(BIN)/python bench/lfl_fit_speed.py
	$(BIN)/python bench/dac_speed.py
	$(BIN)/python bench/iq_learn_speed.py
	$(BIN)/python bench/expert_check.py

# every fault of the store, the cache and the run loop on fresh stores, one line each (root for the tmpfs cases)
faults: $(STAMP)
	$(BIN)/python bench/faults.py

# reports/ from the committed records: tables (md, tex, csv), figures (PNG, PDF), the HTML page and its
# screenshot reports/leaderboard.png (headless Chromium, Debian's package, installed when missing)
report: $(STAMP)
	$(BIN)/irlbench report --store results --out reports --format md,tex,csv,html
	bash bench/screenshot.sh reports/index.html reports/leaderboard.png

screenshot: report

clean:
	rm -rf $(VENV)
