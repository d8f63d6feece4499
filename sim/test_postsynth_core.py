"""The timing core's synthesized netlists under the RTL's own cocotb checks.

A small ``TimingCore`` (2 channels; 2 samples per cycle for iCE40, the DDR
input's rate, and 4 for ECP5, the IDDRX2F gearing's) goes through Yosys's
``synth_ice40`` / ``synth_ecp5`` (``qnu.sim.netlist``); the netlist, built of
vendor cells (LUTs, carry chains, flip-flops with their set/reset/enable
variants, iCE40 block RAM, ECP5 LUT RAM, and in two more ECP5 runs with a
deeper output FIFO, ECP5 block RAM) and simulated with Yosys's cell models
(and QNU's DP16KD model) in Icarus, runs the same cocotb module as the RTL
(``qnu.sim.tb.core_tb``): the same stimuli, scored against the same
reference model (``qnu.sim.model``) by the same scoreboard. So what the
synthesizer made of the sample order, the gearing, the queues and the merger
is checked, not assumed.

Gate-level Icarus runs about 500 cycles a second, so the default set is
the scenarios that pin down sample order and ordering:

- ``edges_on_every_sample_position`` (full length): edges walk through every
  sample position of the word and across word boundaries, both kinds;
- ``simultaneous_edges_on_all_channels`` (half length): the merger's order
  and ties;
- ``overflow_under_tenfold_overload`` (half length): the queues in block /
  LUT RAM fill, every loss is counted and marked (delivered + lost =
  injected);
- ``timestamp_accuracy`` (500 edges): error within half a bin, zero mean,
  RMS at the quantization limit;
- ``poisson_streams`` (half length): random rates, delays, dead times and
  edge kinds per channel.

``-m slow`` adds ``glitches_shorter_than_a_sample``, ``bursts``, and the
others at full length with another seed, and ``delay_and_dead_time_limits``
(the 16-bit maximum delay: runs of 17 000 to 34 000 cycles, on a core with
the default 32-entry queues); with ``QNU_NETLIST_VERILATOR=1`` as well, the
default set in Verilator.
"""

import json
import os

import pytest
from qnu.sim.runner import CoreBuild

# family -> samples per cycle its input PHY delivers
FAMILIES = {"ice40": 2, "ecp5": 4}
CHANNELS = 2
# small buffers keep synthesis and simulation fast; the overflow scenario
# still fills them (it is scored on accounting, not on depth)
SMALL = dict(channel_depth=16, fifo_depth=8)
# the limits scenario keeps ~16 edges in flight in a channel's queue over the maximum delay
DEEP = dict(channel_depth=32, fifo_depth=8)
# an output FIFO deep enough that Yosys puts it in ECP5 block RAM (DP16KD, modelled
# in sim/vendor/ecp5/DP16KD.v), as in the board builds
BLOCK_RAM = dict(channel_depth=16, fifo_depth=256)
BLOCK_RAM_TESTS = [("edges_on_every_sample_position", 1.0), ("poisson_streams", 0.5)]

FAST = [("edges_on_every_sample_position", 1.0), ("simultaneous_edges_on_all_channels", 0.5),
        ("overflow_under_tenfold_overload", 0.5), ("timestamp_accuracy", 0.25), ("poisson_streams", 0.5)]
SLOW = [("glitches_shorter_than_a_sample", 1.0), ("bursts", 1.0), ("poisson_streams", 1.0),
        ("simultaneous_edges_on_all_channels", 1.0), ("overflow_under_tenfold_overload", 1.0),
        ("timestamp_accuracy", 1.0)]

_builds = {}


def _build(simulator, family, buffers):
    key = (simulator, family, tuple(sorted(buffers.items())))
    if key not in _builds:
        _builds[key] = CoreBuild(simulator, channels=CHANNELS, samples_per_cycle=FAMILIES[family],
                                 netlist=family, **buffers).build()
    return _builds[key]


def _cases():
    for family in FAMILIES:
        group = pytest.mark.xdist_group(f"postsynth-{family}")
        for test, scale in FAST:
            yield pytest.param("icarus", family, test, scale, SMALL, id=f"icarus-{family}-{test}-x{scale:g}",
                               marks=group)
        for test, scale in SLOW:
            yield pytest.param("icarus", family, test, scale, SMALL, id=f"icarus-{family}-{test}-x{scale:g}-slow",
                               marks=[group, pytest.mark.slow])
        yield pytest.param("icarus", family, "delay_and_dead_time_limits", 1.0, DEEP,
                           id=f"icarus-{family}-delay_and_dead_time_limits-slow",
                           marks=[pytest.mark.xdist_group(f"postsynth-{family}-deep"), pytest.mark.slow])
        if family == "ecp5":
            for test, scale in BLOCK_RAM_TESTS:
                yield pytest.param("icarus", family, test, scale, BLOCK_RAM,
                                   id=f"icarus-{family}-block-ram-{test}-x{scale:g}",
                                   marks=pytest.mark.xdist_group(f"postsynth-{family}-block-ram"))
        for test, scale in FAST:
            yield pytest.param("verilator", family, test, scale, SMALL, id=f"verilator-{family}-{test}-x{scale:g}",
                               marks=[pytest.mark.xdist_group(f"postsynth-{family}-verilator"), pytest.mark.slow,
                                      _VERILATOR])


# Verilator compiles a gate-level netlist slowly (about 13 minutes on 2 busy
# cores, then 2 300 cycles a second against Icarus's 500): opt in.
_VERILATOR = pytest.mark.skipif(not os.environ.get("QNU_NETLIST_VERILATOR"),
                                reason="set QNU_NETLIST_VERILATOR=1 to run the netlists in Verilator too")


@pytest.mark.parametrize("simulator,family,test,scale,buffers", list(_cases()))
def test_netlist(simulator, family, test, scale, buffers, tmp_path, figures, request):
    build = _build(simulator, family, buffers)
    report = tmp_path / "report.jsonl"
    # the slow variants rerun at full length with another seed
    seed = 500 + FAMILIES[family] + (31 if request.node.get_closest_marker("slow") else 0)
    build.test(test, seed=seed, scale=scale, report=report, test_dir=tmp_path)
    for line in report.read_text().splitlines():
        fig = json.loads(line)
        if fig["test"] == "timestamp_accuracy":
            figures(f"netlist {family} {simulator} N={FAMILIES[family]}: {fig['edges']} edges, "
                    f"mean error {fig['mean_ps']:+.1f} ps, RMS {fig['rms_ps']:.1f} ps "
                    f"(limit {fig['quantization_limit_ps']:.1f}), max |error| {fig['max_abs_ps']:.0f} ps")


def test_netlists_are_vendor_cells():
    """The netlists simulated above are really the family's cells, memories included."""
    for family in FAMILIES:
        build = _build("icarus", family, SMALL)
        cells = build.synthesized.cells
        if family == "ice40":
            assert {"SB_LUT4", "SB_CARRY", "SB_RAM40_4K"} <= set(cells), cells
            assert any(c.startswith("SB_DFF") for c in cells), cells
        else:
            assert {"LUT4", "CCU2C", "TRELLIS_FF", "TRELLIS_DPR16X4"} <= set(cells), cells
        assert not [c for c in cells if c.startswith("$") and c != "$scopeinfo"], cells
    # and the deeper output FIFO is ECP5 block RAM
    assert _build("icarus", "ecp5", BLOCK_RAM).synthesized.cells.get("DP16KD", 0) >= 1
