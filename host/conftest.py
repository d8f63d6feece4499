"""Fixtures for the host tests: a fake node on a real pseudo-terminal, and a device open on it."""

import pytest

from qnu.host.device import Device
from qnu.sim.fake_node import FakeNode


@pytest.fixture
def node():
    with FakeNode(channels=2, clock_hz=100_000_000, samples_per_cycle=4) as n:
        yield n


@pytest.fixture
def dev(node):
    with Device(node.path, timeout=0.3) as d:
        yield d
