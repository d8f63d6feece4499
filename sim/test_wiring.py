"""OUTPUT:INPUT[:CABLE] wiring of loopbacks and simulated instruments: what each takes and refuses."""

import pytest

from qnu.sim.instruments.dg645_model import parse_wiring
from qnu.sim.instruments.generator_model import parse_generator_wiring
from qnu.sim.virtual_board import DEFAULT_CABLE_PS, parse_loopback


def test_wires_with_and_without_a_cable():
    assert [(w.output, w.channel, w.cable_ps) for w in parse_wiring("a:0, B:1:12.5ns,AB:2:2500ps")] == \
        [("A", 0, 0), ("B", 1, 12_500), ("AB", 2, 2_500)]
    assert [(w.output, w.channel, w.cable_ps) for w in parse_generator_wiring("1:0,2:3:5ns")] == \
        [(1, 0, 0), (2, 3, 5_000)]
    lb = parse_loopback("0:3")
    assert (lb.output, lb.channel, lb.delay_ps) == (0, 3, DEFAULT_CABLE_PS)
    assert parse_loopback("2:1:12.5ns").delay_ps == 12_500


@pytest.mark.parametrize("parse, text, message", [
    (parse_wiring, "A", "OUTPUT:INPUT"), (parse_wiring, "A:x", "OUTPUT:INPUT"), (parse_wiring, "A:0:5parsecs", "OUTPUT:INPUT"),
    (parse_wiring, "Q:0", "no output 'Q'"), (parse_wiring, "A:-1", "not be negative"),
    (parse_wiring, "A:0,B:0", "one input"), (parse_wiring, " , ", "no DG645 outputs"),
    (parse_generator_wiring, "3:0", "outputs 1 and 2"), (parse_generator_wiring, "1:0:-5ns", "not be negative"),
    (parse_generator_wiring, "", "no generator outputs"),
    (parse_loopback, "x:1", "trigger output's number"), (parse_loopback, "0:1:2:3", "OUT"),
])
def test_bad_wiring_is_refused_with_a_clear_error(parse, text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)
