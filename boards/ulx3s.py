"""ULX3S (ECP5 LFE5U-85F, speed 6): IDDRX2F gearing, 8 channels, 1.25 ns bins;
or IDDRX1F, 16 channels, 2.5 ns bins."""

from amaranth_boards.ulx3s import ULX3S_85F_Platform

from .board import Board, Phy

# The X2 gearing (IDDRX2F) exists only on the true ("+") pin of a pair on
# the left and right banks, and one edge clock serves one side: the GPIO
# pairs 14..21 are the header's right-bank pairs. ODDRX2F also works on the
# complement pin: those of pairs 14..17 carry trigger outputs 0..3.
X2_INPUTS = tuple(f"{pair}+" for pair in range(14, 22))
X2_OUTPUTS = tuple(f"{pair}-" for pair in range(14, 18))
# DDR (IDDRX1F) works on any pin: both pins of pairs 0..7
DDR_INPUTS = tuple(f"{pair}{side}" for pair in range(8) for side in "+-")
# and ODDRX1F on both pins of pairs 8 and 9: trigger outputs 0..3
DDR_OUTPUTS = ("8+", "8-", "9+", "9-")

BOARD = Board(
    name="ulx3s",
    description="Radiona ULX3S, ECP5 LFE5U-85F-6BG381C",
    platform=ULX3S_85F_Platform,
    family="ecp5",
    clock="clk25",
    connector=("gpio", 0),
    io_attrs={"IO_TYPE": "LVCMOS33"},
    phys={
        # IDDRX2F: 4 samples per 200 MHz SCLK cycle (400 MHz edge clock, 800 Mb/s),
        # widened 4:1 to 16 per 50 MHz core cycle: 1.25 ns bins. The core runs at
        # a quarter of SCLK because its merger does not reach 100 MHz (docs/boards.md).
        # Its SCLK moves with placement (the output gearbox's reader): of seeds
        # 1-4, only 4 met timing with this netlist (docs/boards.md).
        "x2": Phy("ecp5-x2", core_hz=50e6, samples_per_cycle=16,
                  targets={"sync": 50e6, "sclk": 200e6},
                  inputs=X2_INPUTS, outputs=X2_OUTPUTS, seed=4),
        # IDDRX1F on any 16 pins: 2 samples per 200 MHz SCLK cycle, widened 4:1
        # to 8 per 50 MHz core cycle: 2.5 ns bins, 16 channels.
        "ddr": Phy("ecp5-ddr", core_hz=50e6, samples_per_cycle=8,
                   targets={"sync": 50e6, "sclk": 200e6},
                   inputs=DDR_INPUTS, outputs=DDR_OUTPUTS),
    },
    # 32-bit pulse-phase logic: periods up to 10 s (ULX3S) or 44 s (OrangeCrab),
    # and a shorter critical path than 64 bits
    # the herald unit, its detectors on inputs 0-3 and its reference on input 4, its decision
    # table looked up in two halves (the row in the window's closing cycle): herald latency
    # 2 cycles, as on the other boards (docs/herald.md)
    node_args={"period_width": 32, "herald_split_table": True},
    node_features={"herald": True, "herald_fixed": True},
    leds=(("led", 0), ("led", 1), ("led", 2)),
    programmer="ulx3s",
    pin_notes="3.3 V LVCMOS on the GPIO header. The host link is the FT231X on US1 (3 Mbaud).",
)
