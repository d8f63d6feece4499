"""iCEBreaker (iCE40UP5K-SG48): 2 channels, DDR inputs, 15 MHz core.

The target was 4 channels at 48 MHz: 4 channels need about 7000 of the
UP5K's 5280 logic cells, and the 2-channel node fills 98.5 % of them, where
the fabric closes at about 18.8 MHz (docs/boards.md).
"""

from amaranth_boards.icebreaker import ICEBreakerPlatform

from qnu.gateware.node import Node
from .board import Board, Phy


BOARD = Board(
    name="icebreaker",
    description="1BitSquared iCEBreaker, iCE40UP5K-SG48",
    platform=ICEBreakerPlatform,
    family="ice40",
    clock="clk12",
    connector=("pmod", 0),          # PMOD1A
    io_attrs={"IO_STANDARD": "SB_LVCMOS"},
    phys={
        # SB_IO input DDR: 2 samples per 15 MHz cycle, 33.3 ns bins
        "ddr": Phy("ice40-ddr", core_hz=15e6, samples_per_cycle=2, targets={"sync": 15e6},
                   inputs=("1", "2"), outputs=("7",)),
    },
    leds=(("led_g", 0), ("led_r", 0)),
    programmer="ice40_generic",
    node_args=Node.up5k_core_args(),    # the PHY sets channels and clock
    # 98 % of the logic cells are the 2-channel node: its one output carries the
    # timebase's pulse, no source choice, sequencer or attempt loop (docs/boards.md)
    node_features={"sequencer": False, "selectable": False},
    pin_notes="3.3 V LVCMOS on PMOD1A. The host link is the FT2232H's second channel (3 Mbaud).",
)
