"""What a build achieved: Fmax per clock against its target, and resources.

Read from nextpnr's ``--report`` JSON and Yosys's log, so the figures are
the tools' own.
"""

import json
import re
from dataclasses import dataclass, field

__all__ = ["ClockFigure", "Resource", "BuildReport", "read_report"]

# what a user calls them -> the tool and its cell type(s), summed, per family (ECP5 I/O logic
# is IOLOGIC on the left and right banks, SIOLOGIC on the top and bottom ones)
_RESOURCES = {
    "ice40": {"LUT4": ("yosys", "SB_LUT4"), "FF": ("yosys", "SB_DFF"), "logic cells": ("nextpnr", "ICESTORM_LC"),
              "BRAM": ("nextpnr", "ICESTORM_RAM"), "I/O": ("nextpnr", "SB_IO"), "PLL": ("nextpnr", "ICESTORM_PLL")},
    "ecp5": {"LUT4": ("nextpnr", "TRELLIS_COMB"), "FF": ("nextpnr", "TRELLIS_FF"), "BRAM": ("nextpnr", "DP16KD"),
             "I/O": ("nextpnr", "TRELLIS_IO"), "IOLOGIC": ("nextpnr", ("IOLOGIC", "SIOLOGIC")), "PLL": ("nextpnr", "EHXPLLL")},
}
# device totals yosys cannot know, for the iCE40 rows it reports
_ICE40_TOTALS = {"iCE40UP5K": 5280}


@dataclass(frozen=True)
class ClockFigure:
    net: str
    domain: str
    target_mhz: float
    achieved_mhz: float

    @property
    def met(self):
        return self.achieved_mhz >= self.target_mhz

    @property
    def margin(self):
        """Achieved over target, minus one: -0.1 is 10 % short."""
        return self.achieved_mhz / self.target_mhz - 1


@dataclass(frozen=True)
class Resource:
    name: str
    used: int
    available: int

    @property
    def percent(self):
        return 100 * self.used / self.available if self.available else 0.0


@dataclass
class BuildReport:
    board: str
    phy: str
    channels: int
    samples_per_cycle: int
    bin_ps: float
    clocks: list = field(default_factory=list)
    resources: list = field(default_factory=list)
    bitstream: str = ""
    seconds: float = 0.0
    seed: int = 1               # the nextpnr placement seed of this build
    cached: bool = False        # reused from the build cache: the same inputs and tools built it before

    @property
    def timing_met(self):
        return all(clock.met for clock in self.clocks)

    def failing(self):
        return [clock for clock in self.clocks if not clock.met]

    def resource(self, name):
        return next(r for r in self.resources if r.name == name)

    def format(self):
        lines = [f"{self.board} ({self.phy}): {self.channels} channels, {self.samples_per_cycle} samples "
                 f"per cycle, {self.bin_ps:g} ps bins"]
        for c in self.clocks:
            verdict = "met" if c.met else f"FAILED by {-c.margin:.1%}"
            lines.append(f"  clock {c.domain:<6} {c.achieved_mhz:8.2f} MHz achieved, target "
                         f"{c.target_mhz:g} MHz: {verdict}")
        for r in self.resources:
            lines.append(f"  {r.name:<12} {r.used:>6} / {r.available:<6} ({r.percent:.1f} %)")
        if self.bitstream:
            lines.append(f"  bitstream {self.bitstream} ({self.seconds:.0f} s, seed {self.seed})")
        return "\n".join(lines)


def _yosys_cells(log_text):
    """Cell counts from the last ``stat`` in a Yosys log: the totals that
    include submodules come last, so the last count of a cell type wins."""
    start = log_text.rfind("Printing statistics")
    counts = {}
    for count, cell in re.findall(r"^\s+(\d+)\s+(\$?[A-Za-z_][\w$]*)\s*$", log_text[max(start, 0):], re.M):
        counts[cell] = int(count)
    return counts


def read_report(report_json, yosys_log, *, family, device, targets):
    """Clock figures and resources from nextpnr's report and Yosys's log.

    ``targets`` maps domain -> Hz; nextpnr names clocks by net, so each is
    matched to the domain whose target is its constraint.
    """
    with open(report_json) as f:
        report = json.load(f)
    clocks = []
    for net, figures in sorted(report.get("fmax", {}).items()):
        target = figures["constraint"]
        # nextpnr derives a PLL output's constraint from its dividers: 48.003 for 48
        domain = next((d for d, hz in targets.items() if abs(hz / 1e6 - target) < 1e-3 * target), net)
        clocks.append(ClockFigure(net, domain, target, figures["achieved"]))
    missing = set(targets) - {c.domain for c in clocks}
    if missing:
        raise ValueError(f"nextpnr reported no clock for domain(s) {', '.join(sorted(missing))}")
    with open(yosys_log) as f:
        cells = _yosys_cells(f.read())
    used = report.get("utilization", {})
    resources = []
    for name, (source, cell) in _RESOURCES[family].items():
        if source == "nextpnr":
            entries = [used.get(c, {"used": 0, "available": 0}) for c in ((cell,) if isinstance(cell, str) else cell)]
            resources.append(Resource(name, sum(e["used"] for e in entries), sum(e["available"] for e in entries)))
        else:
            count = sum(n for c, n in cells.items() if c == cell or (cell == "SB_DFF" and c.startswith("SB_DFF")))
            resources.append(Resource(name, count, _ICE40_TOTALS.get(device, 0)))
    return clocks, resources
