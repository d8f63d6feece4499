"""What a board module declares, as data: pins, clocks, PHYs, programmer.

A board module builds one ``Board``; :mod:`qnu.boards.top` turns any Board
into a node, so adding a board means writing that one declaration.
"""

from dataclasses import dataclass, field

from amaranth.build import Attrs, Pins, Resource

__all__ = ["Phy", "Board"]


@dataclass(frozen=True)
class Phy:
    """How samples reach the fabric on a board.

    ``kind`` names the PHY (see :mod:`qnu.boards.top`); the pins it can serve
    (not every pin has every kind of I/O logic) are part of it. The core runs at
    ``core_hz`` with ``samples_per_cycle`` samples per channel per cycle, so
    the bin (fine tick) is 1 / (core_hz * samples_per_cycle). ``targets`` maps
    each clock domain of the build to the frequency it must reach. ``seed``
    is the placement seed a build tries first: one that met timing for the
    current node (placement is deterministic, so every machine with the same
    netlist and tools gets the same result), so that a build does not spend
    a failed placement before the seed that works.
    """
    kind: str
    core_hz: float
    samples_per_cycle: int
    targets: dict
    inputs: tuple               # connector pins of tagger inputs 0, 1, ...
    outputs: tuple              # connector pins of trigger outputs 0, 1, ...
    seed: int = 1

    @property
    def channels(self):
        return len(self.inputs)

    @property
    def bin_ps(self):
        return 1e12 / (self.core_hz * self.samples_per_cycle)


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    platform: type              # an amaranth-boards platform class
    family: str                 # "ice40" or "ecp5"
    clock: str                  # the clock input resource the PLL starts from
    connector: tuple            # (name, number) of the connector the pins are on
    io_attrs: dict              # I/O standard etc. of those pins
    phys: dict                  # PHY name -> Phy; the first is the default
    uart: tuple = ("uart", 0)   # the host link's resource
    leds: tuple = ()            # ((name, number), ...): locked, pulse, activity
    programmer: str = ""        # openFPGALoader's -b name
    can_sram: bool = True       # openFPGALoader can load the FPGA directly
    can_flash: bool = True      # openFPGALoader can write the configuration flash
    node_args: dict = field(default_factory=dict)   # extra Node arguments
    node_features: dict = field(default_factory=dict)   # {"sequencer": False, "attempts": False} to leave out
    pin_notes: str = ""         # how to wire it up, for docs/boards.md

    extra_resources: tuple = ()  # board resources amaranth-boards lacks (a UART on a header)

    @property
    def default_phy(self):
        return next(iter(self.phys))

    def phy(self, name=None):
        name = name or self.default_phy
        if name not in self.phys:
            raise ValueError(f"board {self.name} has no PHY {name!r}; it has: {', '.join(self.phys)}")
        return self.phys[name]

    def resources(self, phy=None):
        """The tagger inputs and trigger outputs of ``phy``, as two multi-pin
        resources ("taggers", 0) and ("triggers", 0) on the board's connector."""
        phy = self.phy(phy)

        def pins(kind, names, direction):
            return Resource(kind, 0, Pins(" ".join(names), dir=direction, conn=self.connector),
                            Attrs(**self.io_attrs))
        return [pins("taggers", phy.inputs, "i"), pins("triggers", phy.outputs, "o"),
                *self.extra_resources]

    def make_platform(self, phy=None):
        platform = self.platform()
        platform.add_resources(self.resources(phy))
        return platform
