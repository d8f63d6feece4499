"""The PLL solvers against the tools the community trusts: icepll and ecppll."""

import os
import re
import subprocess

import pytest

from qnu.boards.ecp5_pll import ecp5_pll_params
from qnu.boards.ice40_pll import ice40_pll_params
from qnu.boards.toolchain import find_tool


def _tool(name):
    # icepll and ecppll ship beside nextpnr in the YoWASP packages
    nextpnr = find_tool("nextpnr-ice40" if name == "icepll" else "nextpnr-ecp5")
    return os.path.join(os.path.dirname(nextpnr), f"yowasp-{name}")


def _run(tmp_path, command):
    # YoWASP tools see only the working directory: write pll.v there
    subprocess.run(command + ["-f", "pll.v"], check=True, capture_output=True, cwd=tmp_path)
    return (tmp_path / "pll.v").read_text()


@pytest.mark.parametrize("fin,fout", [(12e6, 48e6), (12e6, 36e6), (12e6, 60e6), (12e6, 72e6), (25e6, 48e6)])
def test_ice40_matches_icepll(tmp_path, fin, fout):
    text = _run(tmp_path, [_tool("icepll"), "-q", "-i", f"{fin / 1e6:g}", "-o", f"{fout / 1e6:g}"])
    want = {name: int(re.search(rf"{name}\s*=\s*(\d+)", text).group(1))
            for name in ("DIVR", "DIVF", "DIVQ", "FILTER_RANGE")}
    got = ice40_pll_params(fin, fout, tolerance=0.01)
    assert (got.divr, got.divf, got.divq, got.filter_range) == (
        want["DIVR"], want["DIVF"], want["DIVQ"], want["FILTER_RANGE"])
    achieved = float(re.search(r"Achieved output frequency:\s*([\d.]+)", text).group(1))
    assert got.output_hz / 1e6 == pytest.approx(achieved, abs=1e-3)


@pytest.mark.parametrize("fin,fouts", [(25e6, (400e6, 100e6)), (48e6, (400e6, 100e6)),
                                       (25e6, (100e6,)), (48e6, (100e6,)), (30e6, (200e6, 50e6))])
def test_ecp5_matches_ecppll(tmp_path, fin, fouts):
    command = [_tool("ecppll"), "-i", f"{fin / 1e6:g}", "-o", f"{fouts[0] / 1e6:g}"]
    if len(fouts) > 1:
        command += ["--clkout1", f"{fouts[1] / 1e6:g}"]
    text = _run(tmp_path, command)
    want = {k: int(v) for k, v in re.findall(r"\.(CLK\w+_DIV|CLK\w+_CPHASE)\((\d+)\)", text)}
    got = ecp5_pll_params(fin, *fouts)
    assert (got.clki_div, got.clkfb_div, got.clkop_div) == (want["CLKI_DIV"], want["CLKFB_DIV"], want["CLKOP_DIV"])
    assert want["CLKOP_CPHASE"] == got.cphase
    if len(fouts) > 1:
        assert got.secondary_divs[0] == want["CLKOS_DIV"]
        assert want["CLKOS_CPHASE"] == got.cphase
    for hz, want_hz in zip(got.output_hz, fouts):
        assert hz == pytest.approx(want_hz)


def test_impossible_frequencies_are_refused():
    with pytest.raises(ValueError, match="cannot make 1000 MHz"):
        ice40_pll_params(12e6, 1000e6)
    with pytest.raises(ValueError, match="cannot make 33.3 MHz beside"):
        ecp5_pll_params(25e6, 400e6, 33.3e6)
    with pytest.raises(ValueError, match="three secondary"):
        ecp5_pll_params(25e6, 400e6, 100e6, 100e6, 100e6, 100e6)
