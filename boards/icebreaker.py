"""iCEBreaker (iCE40UP5K-SG48): 4 channels, DDR inputs, 48 MHz core."""

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
        # SB_IO input DDR: 2 samples per 48 MHz cycle, 10.4 ns bins
        "ddr": Phy("ice40-ddr", core_hz=48e6, samples_per_cycle=2, targets={"sync": 48e6},
                   inputs=("1", "2", "3", "4"), outputs=("7",)),
    },
    leds=(("led_g", 0), ("led_r", 0)),
    programmer="ice40_generic",
    node_args=Node.small_core_args(),    # the PHY sets channels and clock
    pin_notes="3.3 V LVCMOS on PMOD1A. The host link is the FT2232H's second channel (3 Mbaud).",
)
