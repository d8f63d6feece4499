"""A node built with fixed herald channels (the ULX3S's: detectors on inputs 0-3, the input
reference on input 4), in Verilator through the host library: settings for other inputs are
refused by the host with the reason and by the node itself, and the unit heralds from its inputs."""

import pytest

from qnu.gateware.node import Node
from qnu.herald import Outcome
from qnu.host.attempts import AttemptPulse
from qnu.host.device import Device
from qnu.host.errors import DeviceError, HeraldRefused
from qnu.regmap import Features, OutputSource
from qnu.sim.virtual_board import Loopback, VirtualBoard

FEATURES = Features(outputs=4, sequencer=True, attempts=True, herald=True, herald_fixed=True)


@pytest.fixture(scope="module")
def board():
    node = Node(channels=6, samples_per_cycle=4, clock_hz=100_000_000, uart_divisor=8, features=FEATURES)
    with VirtualBoard(node=node, channels=6, loopbacks=[Loopback(0, 1, 30_000)]) as vb:
        yield vb


def test_other_inputs_are_refused_by_the_host_and_by_the_node(board):
    with Device(board.path) as dev:
        assert dev.features.herald_fixed
        dev.regs.write({"att_period": 4_000})
        with pytest.raises(HeraldRefused, match=r"detectors on inputs \[0, 1\] in order"):
            dev.herald.configure(detectors=(1, 2), window_ps=10_000, window_offset_ps=0)
        with pytest.raises(HeraldRefused, match="input reference on input 4"):
            dev.herald.configure(detectors=(0, 1), window_ps=10_000, window_offset_ps=50_000, reference=3)
        with pytest.raises(DeviceError, match="BAD_VALUE"):
            dev.regs.write({"her_detectors": 2 | 1 << 7})                  # detector 0 on input 2
        with pytest.raises(DeviceError, match="BAD_VALUE"):
            dev.regs.write({"her_ctrl": 0b10 | 1 << 2 | 3 << 16})          # input reference on input 3


def test_the_unit_heralds_from_its_fixed_inputs(board):
    with Device(board.path) as dev:
        dev.outputs[0].source = OutputSource.SEQUENCER
        dev.regs.write({"att_period": 4_000})
        dev.herald.configure(detectors=(0, 1), window_ps=20_000, window_offset_ps=25_000, record=())
        before = dev.herald.counts()
        # the excitation pulse on output 0 comes back on input 1 (detector 1): psi- every attempt
        dev.attempts.start(period_ps=10_000_000, pattern=[AttemptPulse(0, 0, 10_000)], count=20)
        dev.attempts.wait(30)
        after = dev.herald.counts()
    assert after["psi_minus"] - before["psi_minus"] == 20
    assert after["references"] - before["references"] == 20
