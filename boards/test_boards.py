"""Board declarations: pins resolve on the platform and collide with nothing."""

import pytest
from amaranth.build import DiffPairs, Pins, ResourceError

from qnu.boards import get_board, board_names
from qnu.units import SAMPLES_PER_CYCLE_CHOICES
from qnu.wire import WIRE_CHANNELS

CASES = [(name, phy) for name in board_names() for phy in get_board(name).phys]


def _pins(platform, name, number=0):
    """The package pins a resource occupies."""
    resource = platform.lookup(name, number)

    def walk(ios):
        for io in ios:
            if isinstance(io, Pins):
                yield from io.map_names(platform._conn_pins, resource)
            elif isinstance(io, DiffPairs):
                yield from io.p.map_names(platform._conn_pins, resource)
                yield from io.n.map_names(platform._conn_pins, resource)
            else:
                yield from walk(io.ios)
    return set(walk(resource.ios))


@pytest.mark.parametrize("name,phy", CASES)
def test_pins_resolve_and_do_not_collide(name, phy):
    board = get_board(name)
    platform = board.make_platform(phy)
    spec = board.phy(phy)
    # requesting resolves connector pins to package pins, or raises
    taggers = platform.request("taggers", 0, dir="-")
    triggers = platform.request("triggers", 0, dir="-")
    assert len(taggers) == spec.channels and len(triggers) == len(spec.outputs)
    ours = _pins(platform, "taggers") | _pins(platform, "triggers")
    assert len(ours) == spec.channels + len(spec.outputs), "a pin is used twice"
    for resource in platform.resources.values():
        if resource.name in ("taggers", "triggers"):
            continue
        # the resources the node uses besides its own pins must not share any
        if resource.name in (board.uart[0], board.clock, *(led for led, _ in board.leds)):
            clash = ours & _pins(platform, resource.name, resource.number)
            assert not clash, f"{name}: {resource.name} shares pins {clash} with the taggers"


@pytest.mark.parametrize("name,phy", CASES)
def test_phy_figures_are_consistent(name, phy):
    board = get_board(name)
    spec = board.phy(phy)
    assert 1 <= spec.channels <= WIRE_CHANNELS
    assert spec.samples_per_cycle in SAMPLES_PER_CYCLE_CHOICES
    assert spec.targets["sync"] == spec.core_hz
    assert spec.bin_ps == pytest.approx(1e12 / spec.core_hz / spec.samples_per_cycle)
    platform = board.make_platform(phy)
    platform.request(*board.uart, dir="-")
    for led, number in board.leds:
        platform.request(led, number, dir="-")
    assert platform.lookup(board.clock).clock.frequency > 0


def test_unknown_phy_is_named():
    with pytest.raises(ValueError, match="board icebreaker has no PHY 'x2'; it has: ddr"):
        get_board("icebreaker").phy("x2")


def test_a_pin_cannot_be_requested_twice():
    platform = get_board("ulx3s").make_platform()
    platform.request("taggers", 0, dir="-")
    with pytest.raises(ResourceError):
        platform.request("taggers", 0, dir="-")


def test_boards_doc_is_current():
    from qnu.boards.docs import DOC, render
    assert DOC.read_text() == render(), "docs/boards.md is stale: run `python -m qnu.boards.docs`"
