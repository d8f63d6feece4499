"""OrangeCrab r0.2 (ECP5 LFE5U-85F, speed 8): 12 channels through DDR inputs, 2.5 ns bins, 4 trigger outputs."""

from amaranth.build import Attrs, Pins, Resource, Subsignal
from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_85FPlatform

from .board import Board, Phy


class OrangeCrabPlatform(OrangeCrabR0_2_85FPlatform):
    """The amaranth-boards platform, without its `dfu-suffix` step: the
    bitstream is loaded by openFPGALoader, which needs no DFU suffix."""

    @property
    def required_tools(self):
        return [tool for tool in super().required_tools if tool != "dfu-suffix"]

    @property
    def command_templates(self):
        return [t for t in super().command_templates if "dfu-suffix" not in t]


BOARD = Board(
    name="orangecrab",
    description="Good Stuff Department OrangeCrab r0.2, ECP5 LFE5U-85F-8MG285C",
    platform=OrangeCrabPlatform,
    family="ecp5",
    clock="clk",
    connector=("io", 0),            # the Feather header
    io_attrs={"IO_TYPE": "LVCMOS33"},
    phys={
        # Only 3 Feather pins (a2, a3, 13) have X2 gearing, so the OrangeCrab
        # uses IDDRX1F on a 200 MHz SCLK: 2 samples per SCLK cycle, widened 4:1
        # to 8 per 50 MHz core cycle: 2.5 ns bins. The Feather header has 17
        # pins besides the UART's: 12 tagger inputs (more than 12 and there
        # would not be the 4 trigger outputs a node needs) and 4 outputs.
        "ddr": Phy("ecp5-ddr", core_hz=50e6, samples_per_cycle=8,
                   targets={"sync": 50e6, "sclk": 200e6},
                   inputs=("a0", "a1", "a2", "a3", "a4", "5", "6", "9", "10", "11", "12", "13"),
                   outputs=("sda", "scl", "cipo", "copi")),
    },
    uart=("host_uart", 0),
    extra_resources=(
        Resource("host_uart", 0,
                 Subsignal("rx", Pins("0", dir="i", conn=("io", 0))),
                 Subsignal("tx", Pins("1", dir="o", conn=("io", 0))),
                 Attrs(IO_TYPE="LVCMOS33", PULLMODE="UP")),
    ),
    # 32-bit pulse-phase logic: periods up to 10 s (ULX3S) or 44 s (OrangeCrab),
    # and a shorter critical path than 64 bits
    node_args={"period_width": 32},
    # the herald unit: a station's decisions in the board (sync 61.7/50 MHz with it; docs/herald.md)
    node_features={"herald": True},
    leds=(("rgb_led", 0),),
    programmer="orangeCrab",
    can_sram=False,       # the DFU bootloader only writes flash
    pin_notes=("3.3 V LVCMOS on the Feather header. The OrangeCrab has no USB UART: wire a 3.3 V "
               "USB-UART adapter to pins 0 (node RX) and 1 (node TX). Its DFU bootloader "
               "(hold the button while plugging in) writes the bitstream to flash."),
)
