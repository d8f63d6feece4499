"""Channel skew: a DG645 fires all its outputs at once into the node's inputs; the
tags give each channel's skew against the first, the node's channel delays
take it out, a second pass checks what is left (at most one bin), and the
corrections are saved for this node (:mod:`qnu.host.skew`).

    with open_device(port) as dev:
        dg = open_instrument("dg645", resource)
        result = calibrate_skew(dev, dg, channels=[0, 1, 2], output="build/skew")

Each DG645 delay channel is set to 0 after T0 while it runs (so every output
fires on the trigger), internal triggers at ``rate_hz``; afterwards the
DG645 gets back its trigger and delays. The node's channels under test are
configured for rising edges with no delay but the corrections; if the
routine does not finish, they get back their settings and the node its old
corrections.
"""

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..skew import SkewCalibration, save_skew
from .common import BenchResult, measuring, plt, restoring

__all__ = ["calibrate_skew", "SkewResult", "pair_offsets", "SkewNotRemoved"]

DG645_CHANNELS = "ABCDEFGH"


class SkewNotRemoved(RuntimeError):
    """After the corrections a channel is still more than one bin off."""


@dataclass
class SkewResult:
    skew_ps: dict               # channel -> mean offset from the reference channel, before
    corrections_ps: dict        # channel -> delay added
    residual_ps: dict           # channel -> mean offset after
    bin_ps: float
    passed: bool
    calibration_path: str
    result: BenchResult


def pair_offsets(reference_ps, other_ps, period_ps):
    """Each reference tag's offset to the nearest tag of the other channel, if that is
    within half a trigger period (an int64 array)."""
    ref, other = np.asarray(reference_ps, np.int64), np.asarray(other_ps, np.int64)
    if not len(ref) or not len(other):
        return np.zeros(0, np.int64)
    i = np.clip(np.searchsorted(other, ref), 1, len(other) - 1) if len(other) > 1 else np.zeros(len(ref), int)
    before, after = other[np.maximum(i - 1, 0)], other[i]
    nearest = np.where(np.abs(after - ref) < np.abs(before - ref), after, before)
    offsets = nearest - ref
    return offsets[np.abs(offsets) < period_ps // 2]


def _measure(dev, channels, triggers, period_ps, timeout_s, bar):
    """Tags of ``triggers`` triggers on every channel; {channel: offsets from channels[0]}."""
    counts = dict.fromkeys(channels, 0)
    want = triggers + 2                 # (the first may be cut by the enable)

    def seen(block):
        for c in channels:
            got = int(np.count_nonzero((block.channel == c) & (block.edge > 0)))
            counts[c] += got
        bar.n = start + sum(min(counts[c], want) for c in channels)
        bar.refresh()

    start = bar.n               # (the pass before this one's)
    rec = dev.record(timeout_s, until=lambda: all(v >= want for v in counts.values()), block_callback=seen)
    tags = rec.tags()
    rising = {c: np.sort(tags.timestamp_ps[(tags.channel == c) & (tags.edge > 0)])[1:] for c in channels}
    missing = [c for c in channels if len(rising[c]) < triggers]
    if missing:
        raise TimeoutError(f"channel(s) {missing} got {[len(rising[c]) for c in missing]} of {triggers} pulses "
                           f"in {timeout_s:g} s: is each wired to a DG645 output?")
    ref = rising[channels[0]]
    return {c: pair_offsets(ref, rising[c], period_ps) for c in channels}


def _means(offsets):
    return {c: float(np.mean(v)) if len(v) else float("nan") for c, v in offsets.items()}


def calibrate_skew(dev, dg645, channels, *, triggers=200, rate_hz=10e3, output=None, save=True,
                   timeout_s=120.0, progress=True):
    """Measure and remove the skew of ``channels`` (the first is the reference).

    Returns a :class:`SkewResult`; writes ``skew.json`` and ``skew.png`` into
    ``output`` if given. Raises :class:`SkewNotRemoved` (after writing them)
    if a channel is left more than one bin off."""
    channels = [int(c) for c in channels]
    if len(channels) < 2 or len(set(channels)) != len(channels):
        raise ValueError(f"skew needs at least two distinct channels, not {channels}")
    for c in channels:
        dev.channel_config(c)               # (checks the channel number)
    if triggers < 2 or rate_hz <= 0:
        raise ValueError("triggers must be at least 2 and rate_hz positive")
    period_ps = round(1e12 / rate_hz)
    bin_ps = float(dev.clock.bin_ps)
    result = BenchResult("skew", channels=channels, triggers=triggers, rate_hz=rate_hz, bin_ps=bin_ps,
                         node={"port": str(dev.port), "build_id": dev.info.build_id}, dg645=dg645.identity)
    saved_regs = dev.regs.read(*(f"ch{c}_{k}" for c in channels for k in ("ctrl", "delay", "dead_time")))
    saved_skew = dev.skew
    saved_dg = dict(trigger_source=dg645.trigger_source, trigger_rate=dg645.trigger_rate, burst=dg645.burst)
    saved_delays = {ch: getattr(dg645, ch).delay for ch in DG645_CHANNELS}
    done = False

    def restore_node():
        if not done:
            dev.regs.write(saved_regs)
            dev.skew = saved_skew

    def restore_dg645():
        dg645.trigger_source = "single shot"            # (quiet while the delays go back)
        for ch, delay in saved_delays.items():
            getattr(dg645, ch).delay = delay
        dg645.apply(dg645, **saved_dg)

    bar = tqdm(total=2 * (triggers + 2) * len(channels), unit="pulse", desc="skew", disable=not progress)
    with measuring(result, output, _plot), restoring("the DG645", restore_dg645), \
            restoring("the node's channels", restore_node), bar:
        dev.apply_skew(None)
        for c in channels:
            dev.configure(c, rising=True, falling=False, delay_ps=0)
        dg645.trigger_source = "single shot"
        for ch in DG645_CHANNELS:
            getattr(dg645, ch).delay = ("T0", 0.0)
        dg645.burst = False
        dg645.trigger_rate = rate_hz
        dg645.trigger_source = "internal"

        before = _measure(dev, channels, triggers, period_ps, timeout_s, bar)
        skew = result["skew_ps"] = _means(before)
        result["skew_rms_ps"] = {c: float(np.std(v)) for c, v in before.items()}
        latest = max(skew.values())
        corrections = {c: int(round((latest - skew[c]) / bin_ps) * bin_ps) for c in channels}
        result["corrections_ps"] = corrections
        calibration = SkewCalibration(str(dev.port), dev.info.build_id, corrections, bin_ps=bin_ps)
        dev.apply_skew(calibration)
        for c in channels:
            dev.configure(c, rising=True, falling=False, delay_ps=0)

        after = _measure(dev, channels, triggers, period_ps, timeout_s, bar)
        residual = result["residual_ps"] = _means(after)
        worst = max(abs(v) for v in residual.values())
        calibration.residual_ps = result["worst_residual_ps"] = worst
        result["passed"] = passed = worst <= bin_ps
        path = save_skew(calibration) if save and passed else None
        result["calibration_file"] = str(path) if path else None
        done = passed
    outcome = SkewResult(skew, corrections, residual, bin_ps, passed, result["calibration_file"], result)
    if not passed:
        raise SkewNotRemoved(f"a channel is still {worst:.0f} ps off after the corrections (one bin: "
                             f"{bin_ps:g} ps): {residual}")
    return outcome


def _plot(result, path):
    pyplot = plt()
    channels = result["channels"]
    fig, ax = pyplot.subplots(figsize=(7, 4))
    x = np.arange(len(channels))
    before = [result.get("skew_ps", {}).get(c, np.nan) for c in channels]
    after = [result.get("residual_ps", {}).get(c, np.nan) for c in channels]
    ax.bar(x - 0.2, before, 0.4, label="before")
    ax.bar(x + 0.2, after, 0.4, label="after the corrections")
    ax.axhspan(-result["bin_ps"], result["bin_ps"], color="grey", alpha=0.2, label="one bin")
    ax.set_xticks(x, [str(c) for c in channels])
    ax.set_xlabel("channel")
    ax.set_ylabel(f"offset from channel {channels[0]} (ps)")
    ax.set_title("channel skew" + ("" if result.get("complete") else " (interrupted)"))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
