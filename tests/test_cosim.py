"""The link in co-simulation: three boards' gateware in Verilator (nodes A and
B, the station), cables and physics between them. The result does not depend
on the chunk size below the lookahead, the station decides every attempt as
the herald model does, and a herald sent back by cable stops both nodes' loops."""

import numpy as np

from qnu.herald import Outcome
from qnu.sim.cosim import model_outcomes, run_cosim
from qnu.sim.link_config import link_from_dict

RAW = {"seed": 3, "attempts": {"count": 60, "period": "10us"}, "fibre": {"length_a": "2km", "length_b": "1.5km"},
       "collection": {"efficiency_a": 0.5, "efficiency_b": 0.4}, "emitter": {"alpha": 0.3},
       "detector": {"dark_count_rate": "2e5Hz"}}


def test_chunks_below_the_lookahead_give_the_same_link_and_the_model_agrees():
    config = link_from_dict(RAW)
    full, outcomes, co = run_cosim(config)
    assert full["backend"] == "verilator" and full["attempts"] == 60
    assert np.array_equal(outcomes, model_outcomes(co, 60))
    assert sum(outcomes == Outcome.PSI_PLUS) + sum(outcomes == Outcome.PSI_MINUS) >= 5
    third, outcomes_third, co_third = run_cosim(config, chunk_cycles=co.lookahead // 3)
    assert co_third.chunk == co.lookahead // 3 < co.chunk
    assert np.array_equal(outcomes, outcomes_third)
    # (the attempts start when the host has set the boards up: compare times from the first start)
    relative = lambda c: {d: [round(t - c.start_tick * c.link.bin_ps) for t in ts] for d, ts in c.click_ps.items()}
    assert relative(co) == relative(co_third)


def test_a_herald_stops_both_nodes_through_their_cables():
    config = link_from_dict({**RAW, "seed": 5})
    results, outcomes, co = run_cosim(config, stop_on_herald=True)
    first = int(np.flatnonzero((outcomes == Outcome.PSI_PLUS) | (outcomes == Outcome.PSI_MINUS))[0])
    sim = results["co_simulation"]
    assert sim["stopped"] == {"a": "input", "b": "input"}
    # the herald leaves the station within a period of the attempt's windows and is back within the fibres'
    # delay (10 us periods, at most 10 us of fibre): at most two more attempts start
    for w in "ab":
        assert first + 1 <= sim["node_attempts"][w] <= first + 3
    assert results["attempts"] == max(sim["node_attempts"].values())


def test_a_counter_watches_the_boards_of_the_co_simulation():
    """The simulated 53230A on node A's sync output and the station's sync input: the interval
    is A's fibre, in whole ticks, as the co-simulation's cable carries the pulse."""
    from qnu.host.device import Device
    from qnu.host.instruments import open_instrument
    from qnu.regmap import OutputSource
    from qnu.sim.cosim import Cosim, SYNC, SYNC_IN
    from qnu.sim.instruments.counter_model import CounterModel, parse_counter_wiring
    from qnu.sim.instruments.server import InstrumentServer
    from qnu.sim.link import Link
    link = Link(link_from_dict(RAW))
    co = Cosim(link)
    boards = co.named_boards()
    model = CounterModel(parse_counter_wiring(f"1:A.OUT{SYNC},2:STATION.IN{SYNC_IN}", tuple(boards)), noise_ps=0)
    with co, InstrumentServer(model) as server:
        model.attach(boards)
        with Device(co.a.path) as dev:
            dev.set_pulse_period(4_000)                 # 10 us
            dev.outputs[SYNC].source = OutputSource.PULSE
        counter = open_instrument("53230a", server.resource, timeout_ms=60_000)
        np.testing.assert_allclose(counter.time_interval(4), co.delay["a"] * link.bin_ps * 1e-12, atol=1e-15)
        assert co.delay["a"] == round(link_from_dict(RAW).physics.fibre_a.delay_ps / link.bin_ps) > 3_000
