"""Reading the tools' figures, and `qnu build`'s verdict on them."""

import dataclasses
import json

import pytest

from qnu.boards.build import TimingNotMet
from qnu.boards.report import BuildReport, read_report
from qnu.host.cli import main

YOSYS_LOG = """
2.50. Printing statistics.

=== top ===
       95 cells
      589   SB_DFF
     2000   SB_LUT4

=== design hierarchy ===

        +----------Count including submodules.
       95 cells
        9   SB_IO
        2   SB_RAM40_4K
     3405   SB_CARRY
      589   SB_DFF
      634   SB_DFFE
     4460   SB_DFFESR
     4015   SB_LUT4
"""


def write(tmp_path, fmax, utilization):
    (tmp_path / "report.json").write_text(json.dumps({"fmax": fmax, "utilization": utilization,
                                                      "critical_paths": []}))
    (tmp_path / "top.rpt").write_text(YOSYS_LOG)
    return tmp_path / "report.json", tmp_path / "top.rpt"


def test_ice40_figures(tmp_path):
    report, log = write(tmp_path, {"clk_pll": {"achieved": 51.3, "constraint": 48.0}},
                        {"ICESTORM_LC": {"used": 4800, "available": 5280},
                         "ICESTORM_RAM": {"used": 20, "available": 30},
                         "SB_IO": {"used": 10, "available": 39},
                         "ICESTORM_PLL": {"used": 1, "available": 1}})
    clocks, resources = read_report(report, log, family="ice40", device="iCE40UP5K",
                                    targets={"sync": 48e6})
    assert [(c.domain, c.achieved_mhz, c.target_mhz, c.met) for c in clocks] == [("sync", 51.3, 48.0, True)]
    by_name = {r.name: (r.used, r.available) for r in resources}
    # LUTs and FFs from the hierarchy totals, not the top module's own count
    assert by_name["LUT4"] == (4015, 5280)
    assert by_name["FF"] == (589 + 634 + 4460, 5280)
    assert by_name["BRAM"] == (20, 30) and by_name["I/O"] == (10, 39)


def test_ecp5_figures_and_a_missed_target(tmp_path):
    report, log = write(tmp_path, {"pll_out1": {"achieved": 92.0, "constraint": 100.0},
                                   "sclk": {"achieved": 250.0, "constraint": 200.0}},
                        {"TRELLIS_COMB": {"used": 30000, "available": 83640},
                         "TRELLIS_FF": {"used": 15000, "available": 83640},
                         "DP16KD": {"used": 30, "available": 208},
                         "TRELLIS_IO": {"used": 20, "available": 365},
                         "IOLOGIC": {"used": 1, "available": 224},
                         "SIOLOGIC": {"used": 16, "available": 141}})
    clocks, resources = read_report(report, log, family="ecp5", device="LFE5U-85F",
                                    targets={"sync": 100e6, "sclk": 200e6})
    # I/O logic on every side of the chip counts
    assert [(r.used, r.available) for r in resources if r.name == "IOLOGIC"] == [(17, 365)]
    report = BuildReport("ulx3s", "x2", 11, 8, 1250.0, clocks, resources)
    assert not report.timing_met
    assert [c.domain for c in report.failing()] == ["sync"]
    assert report.failing()[0].margin == pytest.approx(-0.08)
    text = report.format()
    assert "sync      92.00 MHz achieved, target 100 MHz: FAILED by 8.0%" in text
    assert "sclk     250.00 MHz achieved, target 200 MHz: met" in text
    assert "LUT4          30000 / 83640  (35.9 %)" in text


def test_a_domain_nextpnr_did_not_time_is_an_error(tmp_path):
    report, log = write(tmp_path, {"clk": {"achieved": 120.0, "constraint": 100.0}}, {})
    with pytest.raises(ValueError, match="no clock for domain.*sclk"):
        read_report(report, log, family="ecp5", device="LFE5U-85F", targets={"sync": 100e6, "sclk": 200e6})


def test_cli_reports_missed_timing_and_fails(tmp_path, monkeypatch, capsys):
    report, log = write(tmp_path, {"clk": {"achieved": 45.5, "constraint": 48.0}}, {})
    clocks, resources = read_report(report, log, family="ice40", device="iCE40UP5K", targets={"sync": 48e6})

    asked = {}

    def fake_build(board, phy, **kwargs):
        asked.update(kwargs)
        raise TimingNotMet(BuildReport(board.name, phy or "ddr", 4, 2, 10416.7, clocks, resources))
    monkeypatch.setattr("qnu.boards.build.build", fake_build)
    with pytest.raises(SystemExit) as exit_:
        main(["build", "--board", "icebreaker"])
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert "FAILED by 5.2%" in out
    assert "qnu build: error: timing not met: sync 45.50 MHz < 48 MHz" in err
    # the PHY's own first seed (None here: build() takes it from the PHY), up to three placements
    assert asked["seed"] is None and asked["seeds"] == 3


def test_cli_refuses_an_unknown_phy_before_building(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--board", "ulx3s", "--phy", "x7"])
    assert "board ulx3s has no PHY 'x7'; it has: x2" in capsys.readouterr().err


def test_seeds_retry_a_missed_timing_with_the_next_seeds(tmp_path, monkeypatch):
    """build(seeds=N) places again with seed + 1, ... while timing is missed, and says so."""
    from qnu.boards import get_board
    from qnu.boards.build import build

    report, log = write(tmp_path, {"clk": {"achieved": 45.5, "constraint": 48.0}}, {})
    clocks, resources = read_report(report, log, family="ice40", device="iCE40UP5K", targets={"sync": 48e6})
    met = [dataclasses.replace(c, achieved_mhz=50.0) for c in clocks]
    tried = []

    def one_build(board, phy, *, build_dir, seed, verbose):
        tried.append(seed)
        if seed < 7:
            raise TimingNotMet(BuildReport(board.name, "ddr", 4, 2, 10416.7, clocks, resources, seed=seed))
        return BuildReport(board.name, "ddr", 4, 2, 10416.7, met, resources, seed=seed)
    monkeypatch.setattr("qnu.boards.build._build_once", one_build)
    board, heard = get_board("icebreaker"), []
    assert build(board, seed=5, seeds=3, log=heard.append).seed == 7
    assert tried == [5, 6, 7]
    assert [m.split(":")[0] for m in heard] == ["seed 5", "seed 6"] and "trying seed 7" in heard[-1]

    tried.clear()
    with pytest.raises(TimingNotMet) as caught:
        build(board, seed=1, seeds=2)
    assert tried == [1, 2] and caught.value.report.seed == 2
    with pytest.raises(ValueError, match="seeds must be at least 1"):
        build(board, seeds=0)
