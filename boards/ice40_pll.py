"""The iCE40 PLL: parameters for a frequency, and the clock domain it drives.

The solver follows icepll (IceStorm) for SIMPLE feedback, so a board module
only states the frequency it wants; tests compare it with icepll itself.
"""

from dataclasses import dataclass

from amaranth.hdl import Module, ClockDomain, ClockSignal, Instance, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import ResetSynchronizer

__all__ = ["ICE40PLLParams", "ice40_pll_params", "ICE40PLL"]

PFD_MHZ = (10, 133)
VCO_MHZ = (533, 1066)


@dataclass(frozen=True)
class ICE40PLLParams:
    input_hz: float
    divr: int
    divf: int
    divq: int

    @property
    def pfd_hz(self):
        return self.input_hz / (self.divr + 1)

    @property
    def vco_hz(self):
        return self.pfd_hz * (self.divf + 1)

    @property
    def output_hz(self):
        return self.vco_hz / 2 ** self.divq

    @property
    def filter_range(self):
        pfd = self.pfd_hz / 1e6
        for limit, value in ((17, 1), (26, 2), (44, 3), (66, 4), (101, 5)):
            if pfd < limit:
                return value
        return 6


def ice40_pll_params(input_hz, output_hz, *, tolerance=0.0):
    """The divider settings whose output is nearest ``output_hz``; raises
    ``ValueError`` when the error exceeds ``tolerance`` (a fraction)."""
    best = None
    for divr in range(16):
        pfd = input_hz / (divr + 1) / 1e6
        if not PFD_MHZ[0] <= pfd <= PFD_MHZ[1]:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not VCO_MHZ[0] <= vco <= VCO_MHZ[1]:
                continue
            for divq in range(1, 7):
                params = ICE40PLLParams(input_hz, divr, divf, divq)
                error = abs(params.output_hz - output_hz)
                if best is None or error < best[0]:
                    best = (error, params)
    if best is None or best[0] > tolerance * output_hz:
        got = "nothing" if best is None else f"{best[1].output_hz / 1e6:.4f} MHz"
        raise ValueError(f"iCE40 PLL cannot make {output_hz / 1e6:g} MHz from "
                         f"{input_hz / 1e6:g} MHz (nearest: {got})")
    return best[1]


class ICE40PLL(wiring.Component):
    """SB_PLL40_PAD from the board's clock pad to clock domain ``domain``,
    held in reset until the PLL locks.

    ``pad`` is the clock input's io port (``platform.request(name, dir="-")``);
    on the iCE40UP5K only the PLL's own pad (pin 35 of SG48) can feed it.
    """

    def __init__(self, pad, params, *, domain="sync"):
        self._pad = pad
        self.params = params
        self._domain = domain
        super().__init__({})
        self.locked = Signal()

    def elaborate(self, platform):
        m = Module()
        clk = Signal()
        p = self.params
        m.submodules.pll = Instance(
            "SB_PLL40_PAD",
            p_FEEDBACK_PATH="SIMPLE",
            p_DIVR=p.divr, p_DIVF=p.divf, p_DIVQ=p.divq, p_FILTER_RANGE=p.filter_range,
            i_PACKAGEPIN=self._pad.io,
            i_RESETB=1, i_BYPASS=0,
            o_PLLOUTGLOBAL=clk, o_LOCK=self.locked,
        )
        m.domains += ClockDomain(self._domain)
        m.d.comb += ClockSignal(self._domain).eq(clk)
        m.submodules.reset_sync = ResetSynchronizer(~self.locked, domain=self._domain)
        # nextpnr derives the output's frequency constraint from the dividers
        return m
