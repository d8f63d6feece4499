"""A node on a board: clocks, PHYs, the node gateware, the host link, LEDs.

``NodeTop`` works for any :class:`~qnu.boards.board.Board`; the PHY kind
picks the front end (PLL and I/O logic) for the family. The node itself is
the platform-free :class:`~qnu.gateware.node.Node`.
"""

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module, ResetSignal, Signal
from amaranth.lib import io
from amaranth.lib.cdc import FFSynchronizer, ResetSynchronizer

from qnu.gateware.node import Node, PULSE_WIDTH_S
from qnu.regmap import Features
from .ecp5_pll import ECP5PLL, ecp5_pll_params
from .ice40_pll import ICE40PLL, ice40_pll_params

__all__ = ["NodeTop", "TRIGGER_WIDTH_S", "LED_HOLD_S", "board_features"]

TRIGGER_WIDTH_S = PULSE_WIDTH_S     # the pulse-per-period source's pulse width
LED_HOLD_S = 0.05           # the activity LED stays lit this long after an event


class NodeTop(Elaboratable):
    def __init__(self, board, phy=None, *, build_id=0):
        self.board = board
        self.phy = board.phy(phy)
        self.node = Node(channels=self.phy.channels, samples_per_cycle=self.phy.samples_per_cycle,
                         clock_hz=int(self.phy.core_hz), build_id=build_id,
                         features=board_features(board, self.phy), **board.node_args)

    def elaborate(self, platform):
        m = Module()
        phy = self.phy
        node = m.submodules.node = self.node
        taggers = platform.request("taggers", 0, dir="-")
        triggers = platform.request("triggers", 0, dir="-")
        samples_in, samples_out, status = _FRONT_ENDS[phy.kind](m, platform, self.board, phy, taggers, triggers)
        m.d.comb += node.samples.eq(samples_in)
        for field, value in status.items():
            m.d.comb += node.phy_status[field].eq(value)

        for output in range(len(phy.outputs)):
            m.d.comb += samples_out[output].eq(node.triggers[output])

        uart = platform.request(*self.board.uart, dir="-")
        rx = m.submodules.uart_rx = io.Buffer("i", uart.rx)
        tx = m.submodules.uart_tx = io.Buffer("o", uart.tx)
        m.d.comb += [node.uart_rx.eq(rx.i), tx.o.eq(node.uart_tx)]
        self._leds(m, platform, node, phy)
        return m

    def _leds(self, m, platform, node, phy):
        """Up (out of reset), the pulse per second (toggles), event activity."""
        up = Signal()
        m.d.sync += up.eq(1)
        second = Signal()
        with m.If(node.pulse):
            m.d.sync += second.eq(~second)
        hold = round(LED_HOLD_S * phy.core_hz)
        activity_left = Signal(range(hold + 1))
        events = node.core.events
        with m.If(events.valid & events.ready):
            m.d.sync += activity_left.eq(hold)
        with m.Elif(activity_left != 0):
            m.d.sync += activity_left.eq(activity_left - 1)
        states = [up, second, activity_left != 0]
        ports = []
        for name, number in self.board.leds:
            led = platform.request(name, number, dir="-")
            # an RGB LED gives one colour per state
            ports += [led.r, led.g, led.b] if hasattr(led, "r") else [led]
        for index, (port, state) in enumerate(zip(ports, states)):
            buffer = m.submodules[f"led{index}"] = io.Buffer("o", port)
            m.d.comb += buffer.o.eq(state)


def board_features(board, phy):
    """A board's node features: one trigger output per output pin of its PHY, and
    the sequencer and attempt loop unless the board leaves them out (a small FPGA);
    the herald unit where the board asks for it."""
    sequencer = board.node_features.get("sequencer", True)
    return Features(outputs=len(phy.outputs), sequencer=sequencer,
                    attempts=board.node_features.get("attempts", sequencer),
                    selectable=board.node_features.get("selectable", True),
                    herald=board.node_features.get("herald", False),
                    herald_fixed=board.node_features.get("herald_fixed", False))


def _reset_on_unlock(m, domain, clock, locked, *, pipeline=0):
    """``domain`` on ``clock``, held in reset while the PLL is unlocked. With
    ``pipeline``, the synchronised reset passes that many more (reset-less)
    registers on its way: the synchroniser sits near the PLL's lock output, and
    the registers let the placer spread the way to far users over several cycles."""
    m.domains += ClockDomain(domain)
    m.d.comb += ClockSignal(domain).eq(clock)
    if not pipeline:
        m.submodules[f"{domain}_reset"] = ResetSynchronizer(~locked, domain=domain)
        return
    synchronised = f"{domain}_unlocked"
    m.domains += ClockDomain(synchronised)
    m.d.comb += ClockSignal(synchronised).eq(clock)
    m.submodules[f"{domain}_reset"] = ResetSynchronizer(~locked, domain=synchronised)
    held = Signal(init=1, name=f"{domain}_held")    # 1 while the synchroniser holds reset
    m.d[synchronised] += held.eq(0)
    for stage in range(pipeline):
        copy = Signal(init=1, reset_less=True, name=f"{domain}_reset_stage{stage}")
        m.d[synchronised] += copy.eq(held)
        held = copy
    m.d.comb += ResetSignal(domain).eq(held)


# A front end without a gearbox runs whenever the core does.
_NO_GEARBOX = {"inputs_running": 1, "outputs_running": 1, "input_error": 0, "output_error": 0}


def _gearboxes(m, phy, inputs, outputs, samples_in, out_domain="sclk"):
    """Widen ``inputs``' SCLK words to the core's, narrow the core's trigger words
    to ``outputs``' (in ``out_domain``, SCLK or a domain on the same clock);
    and their status, in the core's domain, for ``phy_status``."""
    from qnu.gateware.phy.gearbox import SampleWidener, SampleNarrower
    ratio = phy.samples_per_cycle // samples_in
    widen = m.submodules.widen = SampleWidener(phy.channels, samples_in=samples_in, ratio=ratio)
    narrow = m.submodules.narrow = SampleNarrower(len(phy.outputs), samples_in=samples_in, ratio=ratio,
                                                  o_domain=out_domain)
    m.d.comb += [widen.narrow.eq(inputs.samples), outputs.samples.eq(narrow.narrow)]
    # the narrower reports in SCLK's domain
    outputs_running, output_error = Signal(), Signal()
    m.submodules.narrow_valid_sync = FFSynchronizer(narrow.valid, outputs_running, o_domain="sync")
    m.submodules.narrow_error_sync = FFSynchronizer(narrow.error, output_error, o_domain="sync")
    status = {"inputs_running": widen.valid, "outputs_running": outputs_running,
              "input_error": widen.error, "output_error": output_error}
    return widen.wide, narrow.wide, status


def _clock_input(m, platform, board):
    buffer = m.submodules.clock_in = io.Buffer("i", platform.request(board.clock, dir="-"))
    return buffer.i, platform.lookup(board.clock).clock.frequency


def _ice40_ddr(m, platform, board, phy, taggers, triggers):
    from .ice40_io import ICE40DDRInput, ICE40DDROutput
    frequency = platform.lookup(board.clock).clock.frequency
    params = ice40_pll_params(frequency, phy.core_hz)
    m.submodules.pll = ICE40PLL(platform.request(board.clock, dir="-"), params)
    inputs = m.submodules.inputs = ICE40DDRInput(taggers)
    outputs = m.submodules.outputs = ICE40DDROutput(triggers)
    return inputs.samples, outputs.samples, _NO_GEARBOX


def _ecp5_ddr(m, platform, board, phy, taggers, triggers):
    from .ecp5_io import ECP5InputX1, ECP5OutputX1
    clk_in, frequency = _clock_input(m, platform, board)
    if "sclk" not in phy.targets:
        # the I/O registers on the core clock: 2 samples per core cycle
        pll = m.submodules.pll = ECP5PLL(ecp5_pll_params(frequency, phy.core_hz))
        m.d.comb += pll.clk_in.eq(clk_in)
        # nextpnr derives each PLL output's frequency constraint from the PLL itself
        _reset_on_unlock(m, "sync", pll.outputs[0], pll.locked)
        inputs = m.submodules.inputs = ECP5InputX1(taggers)
        outputs = m.submodules.outputs = ECP5OutputX1(triggers)
        return inputs.samples, outputs.samples, _NO_GEARBOX

    # the I/O registers on a faster SCLK (a global clock, no edge clock: any
    # pin will do), geared to the core clock like the x2 PHY
    sclk_hz = phy.targets["sclk"]
    pll = m.submodules.pll = ECP5PLL(ecp5_pll_params(frequency, sclk_hz, phy.core_hz))
    m.d.comb += pll.clk_in.eq(clk_in)
    # the inputs' and the outputs' sides of SCLK each have their own reset
    # synchroniser and register pipeline: one shared reset net spanning the
    # chip from the widener to the narrower was SCLK's longest path
    _reset_on_unlock(m, "sclk", pll.outputs[0], pll.locked, pipeline=2)
    _reset_on_unlock(m, "sclk_out", pll.outputs[0], pll.locked, pipeline=2)
    _reset_on_unlock(m, "sync", pll.outputs[1], pll.locked)
    inputs = m.submodules.inputs = ECP5InputX1(taggers, domain="sclk", reset=False)
    outputs = m.submodules.outputs = ECP5OutputX1(triggers, domain="sclk_out", reset=False)
    return _gearboxes(m, phy, inputs, outputs, samples_in=2, out_domain="sclk_out")


def _ecp5_x2(m, platform, board, phy, taggers, triggers):
    from .ecp5_io import ECP5EdgeClocks, ECP5InputX2, ECP5OutputX2
    clk_in, frequency = _clock_input(m, platform, board)
    sclk_hz = phy.targets["sclk"]
    # CLKOP: the edge clock (twice the gearing's SCLK); CLKOS: the core clock
    pll = m.submodules.pll = ECP5PLL(ecp5_pll_params(frequency, 2 * sclk_hz, phy.core_hz))
    m.d.comb += pll.clk_in.eq(clk_in)
    _reset_on_unlock(m, "sync", pll.outputs[1], pll.locked)
    m.domains += [ClockDomain("eclk"), ClockDomain("sclk")]
    edge = m.submodules.edge_clocks = ECP5EdgeClocks(init_domain="sync")
    m.d.comb += [edge.eclk_in.eq(pll.outputs[0]), edge.locked.eq(pll.locked)]
    inputs = m.submodules.inputs = ECP5InputX2(taggers)
    outputs = m.submodules.outputs = ECP5OutputX2(triggers)
    return _gearboxes(m, phy, inputs, outputs, samples_in=4)


_FRONT_ENDS = {
    "ice40-ddr": _ice40_ddr,
    "ecp5-ddr": _ecp5_ddr,
    "ecp5-x2": _ecp5_x2,
}
