"""The timing core's Verilog in Icarus and Verilator, under cocotb, scored by the reference model."""

import json

import pytest

from qnu.sim.runner import CoreBuild

# (samples per cycle, channels): every N, and the 16-channel core
CONFIGS = [(1, 4), (2, 4), (4, 16), (8, 4)]
SIMULATORS = ["icarus", "verilator"]
TESTS = ["poisson_streams", "bursts", "edges_on_every_sample_position",
         "simultaneous_edges_on_all_channels", "glitches_shorter_than_a_sample",
         "delay_and_dead_time_limits", "overflow_under_tenfold_overload", "timestamp_accuracy"]

_builds = {}


def _build(simulator, n, channels):
    key = (simulator, n, channels)
    if key not in _builds:
        _builds[key] = CoreBuild(simulator, channels=channels, samples_per_cycle=n).build()
    return _builds[key]


# Longer runs with other seeds; `make test` runs them too, `make test-fast` does not.
SLOW_CONFIGS = [(4, 16), (8, 4)]
SLOW_TESTS = ["poisson_streams", "edges_on_every_sample_position", "simultaneous_edges_on_all_channels",
              "glitches_shorter_than_a_sample", "overflow_under_tenfold_overload"]
SLOW_SCALE = 5


def _cases():
    for sim in SIMULATORS:
        for n, ch in CONFIGS:
            for test in TESTS:
                yield pytest.param(sim, n, ch, test, 1.0, id=f"{sim}-n{n}-c{ch}-{test}",
                                   marks=pytest.mark.xdist_group(f"{sim}-n{n}-c{ch}"))
        for n, ch in SLOW_CONFIGS:
            for test in SLOW_TESTS:
                yield pytest.param(sim, n, ch, test, SLOW_SCALE, id=f"{sim}-n{n}-c{ch}-{test}-x{SLOW_SCALE}",
                                   marks=[pytest.mark.slow, pytest.mark.xdist_group(f"{sim}-n{n}-c{ch}")])


@pytest.mark.parametrize("simulator,n,channels,test,scale", list(_cases()))
def test_core(simulator, n, channels, test, scale, tmp_path, figures):
    build = _build(simulator, n, channels)
    report = tmp_path / "report.jsonl"
    seed = 1000 * n + channels + (0 if scale == 1 else 77)
    build.test(test, seed=seed, scale=scale, report=report, test_dir=tmp_path)
    for line in report.read_text().splitlines():
        fig = json.loads(line)
        if fig["test"] == "timestamp_accuracy":
            figures(f"accuracy {simulator:9s} N={n}: bin {fig['bin_ps']:.0f} ps, {fig['edges']} edges, "
                    f"mean error {fig['mean_ps']:+.1f} ps (standard error {fig['quantization_limit_ps'] / fig['edges'] ** 0.5:.1f}), RMS {fig['rms_ps']:.1f} ps "
                    f"(limit bin/sqrt(12) = {fig['quantization_limit_ps']:.1f} ps), max |error| {fig['max_abs_ps']:.0f} ps")
        elif "lost" in fig:
            figures(f"overflow {simulator:9s} N={n} C={channels}: injected {fig['injected']} = "
                    f"delivered {fig['delivered']} + lost {fig['lost']} ({fig['markers']} markers)")
