"""Build every supported board with the PyPI toolchain: timing met, resources fit.

Each build takes minutes (the first YoWASP run also compiles the tools), so
these are marked slow; `make test` runs them, `make test-fast` leaves them out.
"""

import re
from pathlib import Path

import pytest

from qnu.boards import board_names, get_board
from qnu.boards.build import DoesNotFit, build, default_build_dir
from qnu.host.cli_board import SEEDS

# Boards whose node does not fit yet: the build must fail with DoesNotFit
# (strict: the day it fits, this list must shrink).
DOES_NOT_FIT = {}


def _case(name, phy):
    reason = DOES_NOT_FIT.get((name, phy))
    marks = [pytest.mark.xfail(raises=DoesNotFit, strict=True, reason=reason)] if reason else []
    return pytest.param(name, phy, marks=marks)


BUILDS = [_case(name, phy) for name in board_names() for phy in get_board(name).phys]


def nextpnr_log_fmax(log_text):
    """Clock -> (achieved, target) MHz, from nextpnr's own log lines, the last
    (post-routing) report winning."""
    found = {}
    for net, achieved, target in re.findall(
            r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz \((?:PASS|FAIL) at ([\d.]+) MHz\)", log_text):
        found[net] = (float(achieved), float(target))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name,phy", BUILDS)
def test_board_builds_with_timing_met(name, phy, figures):
    board = get_board(name)
    spec = board.phy(phy)
    try:
        # as `qnu build` does: up to SEEDS placements (raises TimingNotMet if none meets timing)
        report = build(board, phy, build_dir=default_build_dir(board, phy), seeds=SEEDS)
    except DoesNotFit as error:
        figures(f"board {name}/{phy}: DOES NOT FIT: " + ", ".join(
            f"{cell} {used}/{available} ({100 * used / available:.0f}%)" for cell, used, available in error.overused))
        raise

    # every clock domain the PHY asks for was timed and met its target
    assert {c.domain for c in report.clocks} >= set(spec.targets)
    for clock in report.clocks:
        if clock.domain in spec.targets:
            # nextpnr derives a PLL output's constraint from its dividers (48.0008 for 48)
            assert clock.target_mhz == pytest.approx(spec.targets[clock.domain] / 1e6, rel=1e-3)
        assert clock.met, clock
    # the JSON report agrees with nextpnr's own log
    log = (Path(report.bitstream).parent / f"qnu_{name}.tim").read_text()
    logged = nextpnr_log_fmax(log)
    for clock in report.clocks:
        achieved, target = logged[clock.net]
        assert clock.achieved_mhz == pytest.approx(achieved, abs=0.01)
        assert clock.target_mhz == pytest.approx(target, abs=0.01)
    for resource in report.resources:
        assert 0 <= resource.used <= resource.available, resource
    assert report.resource("I/O").used >= spec.channels + len(spec.outputs) + 2
    assert Path(report.bitstream).stat().st_size > 10_000

    clocks = ", ".join(f"{c.domain} {c.achieved_mhz:.1f}/{c.target_mhz:g} MHz" for c in report.clocks
                       if c.domain in spec.targets)
    used = ", ".join(f"{r.name} {r.used}/{r.available} ({r.percent:.0f}%)" for r in report.resources
                     if r.name in ("LUT4", "FF", "BRAM", "I/O"))
    figures(f"board {name}/{phy}: {spec.channels} ch, {spec.bin_ps / 1000:g} ns bins; Fmax {clocks}; "
            f"{used}; " + ("reused from the build cache" if report.cached else f"built in {report.seconds:.0f} s") +
            f" (seed {report.seed})")
