"""Behavioural Verilog models of vendor primitives that Yosys knows only as black boxes.

``ecp5_models()`` lists the ECP5 models (IDDRX1F, IDDRX2F, ODDRX1F, ODDRX2F,
ECLKSYNCB, CLKDIVF and their shared ``qnu_eclk_phase`` helper, and the DP16KD
block RAM) for Icarus Verilog; each file says which Lattice documentation
statements it implements. Yosys's own ``ecp5/cells_sim.v`` covers none of
these primitives. The DP16KD model is tested through Yosys's block-RAM
mapping (``sim/test_block_ram_model.py``), the others on their own
(``sim/test_vendor_models.py``).

``run_icarus`` builds and runs a cocotb test on them; ``SerialBench`` and
``SclkReference`` are the pin-level bench their tests (and the PHYs' tests)
share: a fast clock stepped by hand one unit interval (UI, half a period) at a
time, and the SCLK that TN1265 says CLKDIVF makes from it.
"""

from pathlib import Path

__all__ = ["ECP5_PRIMITIVES", "ecp5_models", "run_icarus", "SclkReference", "SerialBench"]

_ECP5_DIR = Path(__file__).parent / "vendor" / "ecp5"

ECP5_PRIMITIVES = ("IDDRX1F", "IDDRX2F", "ODDRX1F", "ODDRX2F", "ECLKSYNCB", "CLKDIVF", "DP16KD")


def ecp5_models():
    """Paths of every ECP5 model file (compile them all: they share a helper module)."""
    paths = sorted(_ECP5_DIR.glob("*.v"))
    missing = [name for name in ECP5_PRIMITIVES if _ECP5_DIR / f"{name}.v" not in paths]
    if missing:
        raise FileNotFoundError(f"ECP5 models missing from {_ECP5_DIR}: {', '.join(missing)}")
    return paths


def run_icarus(name, sources, toplevel, test_module, *, testcase=None, extra_env=None, defines=None):
    """Build ``sources`` with Icarus and run the cocotb tests of ``test_module`` on them.

    Build and run folders go under ``$QNU_BUILD`` (default ``./build``)
    ``/cocotb/<name>``, like the core's builds. Raises AssertionError if a
    cocotb test fails.
    """
    import os

    from cocotb_tools.runner import get_results, get_runner

    from .toolchain import simulator_env

    simulator_env("icarus")
    root = Path(os.environ.get("QNU_BUILD", Path.cwd() / "build")) / "cocotb" / name
    runner = get_runner("icarus")
    runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel,
                 build_dir=root / "sim", timescale=("1ps", "1ps"), always=True,
                 defines=dict(defines or {}),
                 log_file=root / "build.log")
    results = runner.test(test_module=test_module, hdl_toplevel=toplevel, testcase=testcase,
                          build_dir=root / "sim", test_dir=root / "run",
                          extra_env=dict(extra_env or {}), timescale=("1ps", "1ps"))
    tests, failed = get_results(results)
    assert tests > 0 and failed == 0, f"{failed} of {tests} cocotb tests failed (see {root / 'run'})"


class SclkReference:
    """What TN1265 says SCLK does after CLKDIVF's RST (DIV="2.0"): the first
    ECLK rising edge after release arms the divider, the second is the first
    SCLK rising edge, then SCLK toggles on every ECLK rising edge; an ALIGNWD
    slip (``skip_at``) holds it for one ECLK cycle."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.armed, self.high, self.skip_at = False, 0, None

    def rise(self, k):
        """Level of SCLK after the ECLK rising edge at UI index ``k``."""
        if self.armed and k != self.skip_at:
            self.high ^= 1
        self.armed = True
        return self.high


class SerialBench:
    """Steps a fast clock (and optionally an SCLK following ``SclkReference``) by hand.

    Edge ``k`` of the clock is at ``k * ui`` ps, rising for even ``k``; each
    ``step`` drives inputs half a UI before the edge (so serial bit ``k`` is
    stable around edge ``k``) and samples a quarter UI after it.
    """

    def __init__(self, dut, clock, sclk=None, *, ui=1200):
        self.dut, self.clock, self.sclk, self.ui = dut, clock, sclk, ui
        self.k = -1
        self.ref = SclkReference()
        self.sclk_rises = []        # UI indices of SCLK rising edges

    async def step(self, drive=None, sample=None):
        """One UI: ``drive(k)`` mid-way before edge k, make edge k, ``sample(k)`` after it."""
        from cocotb.triggers import Timer

        self.k += 1
        k = self.k
        await Timer(self.ui // 4, unit="ps")
        if drive:
            drive(k)
        await Timer(self.ui // 2, unit="ps")
        getattr(self.dut, self.clock).value = int(k % 2 == 0)
        if self.sclk and k % 2 == 0:
            old = int(getattr(self.dut, self.sclk).value)
            new = self.ref.rise(k)
            getattr(self.dut, self.sclk).value = new
            if new and not old:
                self.sclk_rises.append(k)
        await Timer(self.ui // 4, unit="ps")
        if sample:
            sample(k)
