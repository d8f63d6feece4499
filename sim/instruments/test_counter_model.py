"""The simulated 53230A through its driver, watching a live virtual board: trigger output 0
cabled back to input 1 (12.5 ns), the counter's input 1 on the output and input 2 on the input.
Time interval, frequency and timestamps against what the cable and the pulse period make them."""

import numpy as np
import pytest

from qnu.host.device import Device
from qnu.host.instruments import InstrumentReportedError, open_instrument
from qnu.regmap import OutputSource
from qnu.sim.instruments.counter_model import CounterModel, parse_counter_wiring
from qnu.sim.instruments.server import InstrumentServer
from qnu.sim.virtual_board import Loopback, VirtualBoard

CABLE_PS, PERIOD_TICKS, BIN_PS = 12_500, 4_000, 2_500          # a pulse every 10 us


def test_wiring_is_parsed_and_checked():
    assert [(w.input, w.board, w.kind, w.index) for w in parse_counter_wiring("1:OUT0,2:in3")] == \
        [(1, "", "OUT", 0), (2, "", "IN", 3)]
    assert parse_counter_wiring("1:A.OUT0,2:B.OUT1", ("A", "B"))[1].board == "B"
    for bad in ("3:OUT0", "1:OUT0,1:IN2", "1:C.OUT0", "1:X0"):
        with pytest.raises(ValueError):
            parse_counter_wiring(bad, ("", "A", "B"))


def test_the_counter_measures_the_loop_cable_the_period_and_timestamps():
    model = CounterModel(parse_counter_wiring("1:OUT0,2:IN1"), noise_ps=0)
    with VirtualBoard(loopbacks=[Loopback(0, 1, CABLE_PS)], live=True) as vb, InstrumentServer(model) as server:
        model.attach({"": vb})
        with Device(vb.path) as dev:
            dev.set_pulse_period(PERIOD_TICKS)
            dev.outputs[0].source = OutputSource.PULSE
        counter = open_instrument("53230a", server.resource, timeout_ms=60_000)
        # the looped edge reaches the input the cable's whole ticks after it left the output
        np.testing.assert_allclose(counter.time_interval(5), (CABLE_PS // BIN_PS) * BIN_PS * 1e-12, atol=1e-15)
        assert counter.frequency(1, 2) == pytest.approx(1e12 / (PERIOD_TICKS * BIN_PS))
        stamps = counter.timestamps(4, channel=2)
        np.testing.assert_allclose(np.diff(stamps), PERIOD_TICKS * BIN_PS * 1e-12)
        counter.statistics_enabled = True
        counter.clear_statistics()
        counter.time_interval(3)
        assert counter.statistics().mean == pytest.approx(CABLE_PS * 1e-12, rel=1e-9)
        with pytest.raises(InstrumentReportedError, match="-222"):
            counter.write("SAMP:COUN 0")
