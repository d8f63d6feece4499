"""The output sequencer's Verilog in Icarus and Verilator, under cocotb, scored by its
reference model (sim/tb/sequencer_tb.py)."""

import pytest

from qnu.sim.runner import SequencerBuild

CONFIGS = [(4, 4), (8, 2)]          # (samples per cycle, outputs)
SIMULATORS = ["icarus", "verilator"]
TESTS = ["random_schedules", "every_sample_position_and_all_outputs_at_once", "exactly_on_time_and_one_tick_late",
         "time_load_and_step_with_events_queued", "full_queue_holds_the_writer"]
DEPTH = 16

_builds = {}


def _build(simulator, n, outputs):
    key = (simulator, n, outputs)
    if key not in _builds:
        _builds[key] = SequencerBuild(simulator, outputs=outputs, samples_per_cycle=n, depth=DEPTH).build()
    return _builds[key]


@pytest.mark.parametrize("simulator,n,outputs,test", [
    pytest.param(sim, n, k, test, id=f"{sim}-n{n}-o{k}-{test}", marks=pytest.mark.xdist_group(f"seq-{sim}-n{n}-o{k}"))
    for sim in SIMULATORS for n, k in CONFIGS for test in TESTS])
def test_sequencer(simulator, n, outputs, test, tmp_path):
    _build(simulator, n, outputs).test(test, seed=7 * n + outputs, test_dir=tmp_path)
