"""Issue 14's sync targets over a grid: a leader and a follower, each the Node
gateware in Verilator on its own oscillator, for each frequency offset, link
length and fibre asymmetry; then a three-node chain whose first link is pulled
and re-plugged. The points run as a sweep on a Dask LocalCluster (``qnu sweep``'s
machinery). Prints the figures against the targets (docs/sync.md):

    time error |mean| <= 50 ps and RMS <= 100 ps once locked; lock within 1 s;
    PPS error RMS at the output quantization limit bin/sqrt(12);
    relock after a pull to the same alignment within one bin.

Each point simulates SECONDS of the chain (the co-simulation runs about 2 000
cycles of three boards a second on 2 cores), so it takes several minutes.
"""

import json
import math
import sys
from pathlib import Path
import time

from qnu.sim.sweep import Sweep, run_sweep
from qnu.sim.sync_cosim import SyncSimConfig, run_sync_sim

BIN_PS = SyncSimConfig().bin_ps
# simulated time per link length: the servo's gears settle in about 2 ms on a 5 m link (exchanges
# every 2**9 cycles) and 6 ms on a 2 km one (2**11: the interval holds the round trip)
SECONDS = {"5m": "8ms", "2km": "12ms"}
RELOCK = dict(ppm=(0.0, 50.0, -80.0), lengths_m=(5.0, 2000.0), seconds=9e-3, seed=7, pull=(0, 6.0e-3, 6.1e-3))


def grid_sweeps():
    return [Sweep(kind="sync", backend="verilator", name=f"sync targets {length}",
                  base={"nodes": 2, "seconds": seconds, "seed": 7, "length": length},
                  grid={"ppm": ["0,+50", "0,-80"], "alpha": [0.0, 2.5e-4]})
            for length, seconds in SECONDS.items()]


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    started = time.monotonic()
    rows = []
    for sweep in grid_sweeps():
        for row in run_sweep(sweep, workers=2, progress=lambda d, t: print(f"  {d}/{t} points", file=sys.stderr)):
            rows.append({**row, "length": sweep.base["length"], "seconds": sweep.base["seconds"]})
    Path("build").mkdir(exist_ok=True)
    Path("build/sync_targets.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    limit = BIN_PS / math.sqrt(12)
    print(f"sync targets: leader + follower, {', '.join(f'{k} links {v}' for k, v in SECONDS.items())}, "
          f"{BIN_PS:.0f} ps bins "
          f"(quantization limit {limit:.0f} ps RMS)")
    print(f"{'ppm':>5} {'length':>7} {'alpha':>8} {'lock us':>8} {'err mean':>9} {'err rms':>8} "
          f"{'pps mean':>9} {'pps rms':>8}   (ps)")
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['ppm']:>7} {r['length']:>7} {r['alpha']:>8g}  failed: {r['error']}")
            continue
        lock = None if r["lock_time_s"] is None else r["lock_time_s"] * 1e6
        print(f"{r['node_ppm']:>+5g} {r['length']:>7} {r['alpha']:>8g} {fmt(lock, '8.1f')} "
              f"{fmt(r['time_error_mean_ps'], '9.0f')} {fmt(r['time_error_rms_ps'], '8.0f')} "
              f"{fmt(r['pps_error_mean_ps'], '9.0f')} {fmt(r['pps_error_rms_ps'], '8.0f')}")
    ok = [r for r in rows if r["status"] == "ok" and r["time_error_rms_ps"] is not None]
    if ok:
        print(f"worst |mean| {max(abs(r['time_error_mean_ps']) for r in ok):.0f} ps (target 50), worst RMS "
              f"{max(r['time_error_rms_ps'] for r in ok):.0f} ps (target 100), slowest lock "
              f"{max(r['lock_time_s'] for r in ok) * 1e6:.0f} us (target 1 s), PPS RMS "
              f"{min(r['pps_error_rms_ps'] for r in ok):.0f} to {max(r['pps_error_rms_ps'] for r in ok):.0f} ps "
              f"(limit {limit:.0f})")
    # relock: the chain's first link pulled for 100 us, then back
    cfg = SyncSimConfig(**RELOCK)
    results = run_sync_sim(cfg)
    cut = f"{cfg.pull[1] * 1e6:.0f}-{cfg.pull[2] * 1e6:.0f} us"
    for f in results["followers"]:
        r = f.get("relock") or {}
        shift = None if r.get("after_mean_ps") is None or r.get("before_mean_ps") is None else \
            r["after_mean_ps"] - r["before_mean_ps"]
        print(f"relock: node {f['node']} ({f['ppm']:+g} ppm), link 0 cut {cut}: relocked "
              f"{fmt(None if r.get('relock_s') is None else r['relock_s'] * 1e6, '.0f')} us after the re-plug, "
              f"mean {fmt(r.get('before_mean_ps'), '.0f')} ps before, {fmt(r.get('after_mean_ps'), '.0f')} ps after "
              f"(shift {fmt(shift, '+.0f')} ps; one bin {BIN_PS:.0f} ps)")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
