"""Loopback calibration: the offset arithmetic, parameter checks and the no-loop path on the fake node."""

import random

import pytest
from qnu.host.calibrate import CalibrationError, calibrate_loopback, loop_offsets

from .test_cli_device import run


@pytest.mark.parametrize("latency", [0, 1, 37, 15_998, 15_999])
def test_loop_offsets_are_the_latency_modulo_the_period(latency):
    """Pulses leave at multiples of the period and come back ``latency`` (+0 or +1, the sampling)
    ticks later; the offsets are that latency, one representation of it, even across the wrap."""
    period, rng = 16_000, random.Random(latency)
    ticks = [k * period + latency + rng.randrange(2) for k in range(100, 140)]
    offsets = loop_offsets(ticks, period)
    assert offsets.max() - offsets.min() <= 1
    assert all(o % period == t % period for o, t in zip(offsets.tolist(), ticks))


def test_bad_parameters_are_refused_before_anything_is_written(dev, node):
    before = node.register("pulse_period_lo")
    with pytest.raises(ValueError, match="at least 1024 ticks"):
        calibrate_loopback(dev, 0, period_ps=1_000_000)
    with pytest.raises(ValueError, match="pulses"):
        calibrate_loopback(dev, 0, pulses=1)
    assert node.register("pulse_period_lo") == before


def test_no_loop_is_an_error_and_the_settings_come_back(dev, node):
    dev.configure(1, enable=True, rising=False, falling=True, delay_ps=5_000, dead_time_ps=10_000)
    names = ["pulse_period_lo", "pulse_period_hi", "ch1_ctrl", "ch1_delay", "ch1_dead_time"]
    before = {n: node.register(n) for n in names}
    with pytest.raises(CalibrationError, match="only 0 of 16 looped pulses came back on channel 1"):
        calibrate_loopback(dev, 1, timeout_s=0.3)
    assert {n: node.register(n) for n in names} == before


def test_qnu_calibrate_reports_a_missing_loop(node, capsys):
    code, _, err = run(capsys, "calibrate", "--port", node.path, "--channel", "0", "--wait", "0.3")
    assert code == 1 and "is trigger output 0 wired to input 0?" in err
    code, _, err = run(capsys, "calibrate", "--port", node.path, "--channel", "0", "--period-us", "1")
    assert code == 1 and "at least 1024 ticks" in err


def test_pulse_period_round_trips_and_is_checked(dev, node):
    from qnu.gateware.timing.timebase import MIN_PERIOD
    from qnu.regmap import MIN_PULSE_PERIOD

    assert MIN_PULSE_PERIOD == MIN_PERIOD
    assert dev.pulse_period() == 100_000_000 * 4           # one second, the node's default
    dev.set_pulse_period(2 ** 40 + 12_345)
    assert dev.pulse_period() == 2 ** 40 + 12_345
    assert node.register("pulse_period_hi") == 2 ** 8 and node.register("pulse_period_lo") == 12_345
    for bad in (MIN_PULSE_PERIOD - 1, 2 ** 64):
        with pytest.raises(ValueError, match="pulse period must be 1024"):
            dev.set_pulse_period(bad)
    assert dev.pulse_period() == 2 ** 40 + 12_345


def test_qnu_info_shows_the_pulse_period(node, capsys):
    code, out, _ = run(capsys, "info", "--port", node.path)
    assert code == 0 and "pulse period   400,000,000 ticks (1 s), 0 missed" in out
