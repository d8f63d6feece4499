"""Herald window scan: success and false-herald rates against the window's offset and width.

For each window (offset, width) the node's attempt loop runs ``attempts``
attempts twice, the herald unit deciding each from the detectors' clicks:

- with the signal: the attempt pattern fires the excitation ("laser")
  pulse on ``laser_output`` at each attempt's start;
- with the signal blocked: the same attempts with no pulse, as a lab blocks
  the laser: every herald then comes from dark counts and noise, a false one.

The herald counters give the success probability per attempt of each pass
(psi+ and psi-), their binomial errors, and the rejects. ``window_scan.json``
and ``window_scan.png`` (curves against the offset, one per width). The
herald unit's, the attempt loop's and the outputs' settings are put back.
"""

import itertools

import numpy as np
from tqdm import tqdm

from qnu.herald import Outcome
from .common import BenchResult, measuring, plt, restoring

__all__ = ["scan_windows"]

_HERALD_REGS = ("her_ctrl", "her_detectors", "her_win0_offset", "her_win0_width", "her_win1_offset",
                "her_win1_width", "her_out")


def _run(dev, attempts, period_ps, pattern, timeout_s):
    from qnu.host.attempts import StopReason
    before = dev.herald.counts()
    dev.attempts.start(period_ps=period_ps, pattern=pattern, count=attempts)
    status = dev.attempts.wait(timeout_s)
    if status.reason != StopReason.COUNT:
        raise RuntimeError(f"the attempt loop stopped early: {status}")
    after = dev.herald.counts()
    return {k: (after[k] - before[k]) & 0xFFFF_FFFF for k in after}


def _rates(counts, attempts):
    heralds = counts[Outcome.PSI_PLUS.key] + counts[Outcome.PSI_MINUS.key]
    p = heralds / attempts
    return {"p": p, "error": float(np.sqrt(p * (1 - p) / attempts)), "heralds": heralds,
            "rejects": counts[Outcome.REJECT.key], "decided": counts["references"]}


def scan_windows(dev, *, detectors, offsets_ps, widths_ps, laser_output, scheme="single-click", attempts=1000,
                 period_ps=10_000_000, laser_width_ps=10_000, output=None, timeout_s=600.0, progress=True):
    """Scan the herald window; returns the BenchResult (``points``: one per window)."""
    from qnu.host.attempts import AttemptPulse
    from qnu.host.outputs import OutputSource
    offsets_ps, widths_ps = [int(o) for o in offsets_ps], [int(w) for w in widths_ps]
    if not offsets_ps or not widths_ps or attempts < 1:
        raise ValueError("a scan needs offsets, widths and at least one attempt per point")
    result = BenchResult("window_scan", detectors=list(detectors), scheme=scheme, attempts=attempts,
                         period_ps=period_ps, laser_output=laser_output, offsets_ps=offsets_ps,
                         widths_ps=widths_ps, points=[])
    saved_regs = dev.regs.read(*_HERALD_REGS, "att_period", *(f"ch{c}_ctrl" for c in detectors))
    saved_source = dev.outputs[laser_output].source

    def restore():
        dev.attempts.stop()
        dev.herald.disable()                                # (while the rest goes back)
        dev.regs.write({k: v for k, v in saved_regs.items() if k != "her_ctrl"})
        dev.regs.write({"her_ctrl": saved_regs["her_ctrl"]})
        dev.outputs[laser_output].source = saved_source

    laser = [AttemptPulse(laser_output, offset_ps=0, width_ps=laser_width_ps)]
    grid = list(itertools.product(widths_ps, offsets_ps))
    bar = tqdm(total=2 * len(grid) * attempts, unit="attempt", desc="window scan", disable=not progress)
    with measuring(result, output, _plot), restoring("the node's herald unit and attempt loop", restore), bar:
        dev.outputs[laser_output].source = OutputSource.SEQUENCER
        dev.attempts.stop()
        dev.regs.write({"att_period": dev.clock.whole_ticks("period_ps", period_ps)})   # (the windows fit it)
        for width, offset in grid:
            dev.herald.configure(scheme=scheme, detectors=detectors, window_ps=width, window_offset_ps=offset,
                                 record=())
            point = {"offset_ps": offset, "width_ps": width}
            for name, pattern in (("signal", laser), ("blocked", [])):
                point[name] = _rates(_run(dev, attempts, period_ps, pattern, timeout_s), attempts)
                bar.update(attempts)
            result["points"].append(point)
    return result


def _plot(result, path):
    pyplot = plt()
    fig, (top, bottom) = pyplot.subplots(2, 1, figsize=(7, 7), sharex=True)
    for width in result["widths_ps"]:
        points = [p for p in result["points"] if p["width_ps"] == width]
        if not points:
            continue
        x = np.array([p["offset_ps"] for p in points]) / 1e3
        for ax, name in ((top, "signal"), (bottom, "blocked")):
            y = [p[name]["p"] for p in points]
            err = [p[name]["error"] for p in points]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=2, label=f"window {width / 1e3:g} ns")
    top.set_ylabel("heralds per attempt")
    top.set_title("with the signal")
    bottom.set_ylabel("false heralds per attempt")
    bottom.set_title("signal blocked (dark counts and noise)")
    bottom.set_xlabel("window offset after the attempt start (ns)")
    if top.get_legend_handles_labels()[0]:
        top.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
