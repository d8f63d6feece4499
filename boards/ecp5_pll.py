"""The ECP5 PLL (EHXPLLL): parameters for a set of frequencies, and its clocks.

The solver follows ecppll (Project Trellis): the primary output, CLKOP, is
also the feedback; the secondary outputs divide the same VCO, so all outputs
are phase-aligned multiples of one VCO period. Tests compare it with ecppll.
"""

from dataclasses import dataclass

from amaranth.hdl import Module, Instance, Signal
from amaranth.lib import wiring

__all__ = ["ECP5PLLParams", "ecp5_pll_params", "ECP5PLL"]

PFD_MHZ = (3.125, 400)
VCO_MHZ = (400, 800)
SECONDARY = ("CLKOS", "CLKOS2", "CLKOS3")


@dataclass(frozen=True)
class ECP5PLLParams:
    input_hz: float
    clki_div: int
    clkfb_div: int
    clkop_div: int
    secondary_divs: tuple = ()

    @property
    def vco_hz(self):
        return self.input_hz / self.clki_div * self.clkfb_div * self.clkop_div

    @property
    def cphase(self):
        """The coarse phase every output uses, as ecppll sets it for 0 degrees."""
        return (self.clkop_div - 1) // 2

    @property
    def output_hz(self):
        """CLKOP, then each secondary output."""
        return (self.vco_hz / self.clkop_div, *(self.vco_hz / d for d in self.secondary_divs))


def ecp5_pll_params(input_hz, primary_hz, *secondary_hz, tolerance=0.0):
    """Dividers for CLKOP = ``primary_hz`` and CLKOS.. = ``secondary_hz``."""
    if len(secondary_hz) > len(SECONDARY):
        raise ValueError("the ECP5 PLL has three secondary outputs")
    best = None
    for clki_div in range(1, 129):
        pfd = input_hz / clki_div / 1e6
        if not PFD_MHZ[0] <= pfd <= PFD_MHZ[1]:
            continue
        for clkfb_div in range(1, 81):
            for clkop_div in range(1, 129):
                vco = pfd * clkfb_div * clkop_div
                if not VCO_MHZ[0] <= vco <= VCO_MHZ[1]:
                    continue
                # the least error, then the VCO nearest the middle of its range
                score = (abs(pfd * clkfb_div * 1e6 - primary_hz), abs(vco - sum(VCO_MHZ) / 2))
                if best is None or score < best[0]:
                    best = (score, clki_div, clkfb_div, clkop_div)
    if best is None or best[0][0] > tolerance * primary_hz:
        raise ValueError(f"ECP5 PLL cannot make {primary_hz / 1e6:g} MHz from {input_hz / 1e6:g} MHz")
    _, clki_div, clkfb_div, clkop_div = best
    vco_hz = input_hz / clki_div * clkfb_div * clkop_div
    divs = []
    for hz in secondary_hz:
        div = round(vco_hz / hz)
        if not 1 <= div <= 128 or abs(vco_hz / div - hz) > tolerance * hz:
            raise ValueError(f"ECP5 PLL cannot make {hz / 1e6:g} MHz beside {primary_hz / 1e6:g} MHz "
                             f"(VCO {vco_hz / 1e6:g} MHz)")
        divs.append(div)
    return ECP5PLLParams(input_hz, clki_div, clkfb_div, clkop_div, tuple(divs))


class ECP5PLL(wiring.Component):
    """EHXPLLL from ``clk_in``; ``outputs[i]`` is CLKOP, CLKOS, ... in order.

    The outputs are plain signals: the board top decides which become clock
    domains (a fabric clock) and which feed edge clocks (ECLKSYNCB).
    """

    def __init__(self, params):
        self.params = params
        super().__init__({})
        self.clk_in = Signal()
        self.outputs = [Signal(name=f"pll_out{i}") for i in range(1 + len(params.secondary_divs))]
        self.locked = Signal()

    def elaborate(self, platform):
        m = Module()
        p = self.params
        freqs = [hz / 1e6 for hz in p.output_hz]
        ports = dict(i_CLKI=self.clk_in, i_CLKFB=self.outputs[0], o_CLKOP=self.outputs[0],
                     o_LOCK=self.locked, i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
                     i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0)
        attrs = {"FREQUENCY_PIN_CLKI": f"{p.input_hz / 1e6:g}", "FREQUENCY_PIN_CLKOP": f"{freqs[0]:g}",
                 "ICP_CURRENT": "12", "LPF_RESISTOR": "8", "MFG_ENABLE_FILTEROPAMP": "1",
                 "MFG_GMCREF_SEL": "2"}
        params = dict(p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                      p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
                      p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
                      p_CLKI_DIV=p.clki_div, p_CLKFB_DIV=p.clkfb_div, p_FEEDBK_PATH="CLKOP",
                      p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=p.clkop_div,
                      p_CLKOP_CPHASE=p.cphase, p_CLKOP_FPHASE=0)
        for name, div, out, mhz in zip(SECONDARY, p.secondary_divs, self.outputs[1:], freqs[1:]):
            # same coarse phase as CLKOP: every output's edges line up with CLKOP's
            params.update({f"p_{name}_ENABLE": "ENABLED", f"p_{name}_DIV": div,
                           f"p_{name}_CPHASE": p.cphase, f"p_{name}_FPHASE": 0})
            ports[f"o_{name}"] = out
            ports[f"i_EN{name}"] = 0
            attrs[f"FREQUENCY_PIN_{name}"] = f"{mhz:g}"
        m.submodules.pll = Instance("EHXPLLL", **{f"a_{k}": v for k, v in attrs.items()},
                                    **params, **ports)
        return m
