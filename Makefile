# QNU: the two everyday commands are `make demo` and `make test`.
# Each installs what is missing first (tools/setup.sh), then runs.

VENV := .venv/bin
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast bench clean

setup:
	bash tools/setup.sh

# The entanglement link: physics Monte Carlo, the herald gateware in Verilator, the table.
demo: setup
	$(VENV)/qnu link --config examples/link.toml --output build/demo

# The whole suite, slow variants included, both simulators, on all cores.
test: setup
	$(VENV)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

test-fast: setup
	$(VENV)/python -m pytest -n auto --dist loadgroup -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(VENV)/python bench/sim_speed.py
	$(VENV)/python bench/vboard_speed.py
	$(VENV)/python bench/wire_throughput.py
	$(VENV)/python bench/outputs_speed.py
	$(VENV)/python bench/link_speed.py
	$(VENV)/python bench/correlation_speed.py

clean:
	rm -rf build .pytest_cache
