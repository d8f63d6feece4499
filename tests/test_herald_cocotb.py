"""The herald unit's Verilog in Icarus and Verilator, under cocotb, scored by its
reference model through the shared scenarios (sim/tb/herald_tb.py)."""

import pytest

from qnu.sim.runner import HeraldBuild

SIMULATORS = ["icarus", "verilator"]
TESTS = ["single_click_attempt_loop", "barrett_kok_attempt_loop", "single_click_input_reference",
         "barrett_kok_input_reference"]
SAMPLES = [2, 8]

_builds = {}


def _build(simulator, n):
    if (simulator, n) not in _builds:
        _builds[simulator, n] = HeraldBuild(simulator, samples_per_cycle=n).build()
    return _builds[simulator, n]


@pytest.mark.parametrize("simulator,n,test", [
    pytest.param(sim, n, test, id=f"{sim}-n{n}-{test}", marks=pytest.mark.xdist_group(f"herald-{sim}-n{n}"))
    for sim in SIMULATORS for n in SAMPLES for test in TESTS])
def test_herald(simulator, n, test, tmp_path):
    _build(simulator, n).test(test, seed=3 * n + 1, test_dir=tmp_path)
