"""Timestamp jitter of one channel against a periodic source's ideal period.

A waveform generator (33500B/33600A) sends a pulse train of ``period_s`` into
the channel; the routine tags ``pulses`` rising edges and fits the ideal
train ``t_k = t_0 + k * T`` (least squares over the pulse numbers, so a lost
pulse does not shift the rest). The residuals are the channel's jitter: the
source's own, the input's, and the bin's quantization (bin/sqrt(12) RMS for
a source that wanders over the bin). Histogram and RMS; ``jitter.json`` and
``jitter.png``. The generator's channel and the node's channel get back
their settings afterwards.
"""

import numpy as np
from tqdm import tqdm

from .common import BenchResult, measuring, plt, restoring

__all__ = ["measure_jitter", "fit_period"]


def fit_period(timestamps_ps, nominal_period_ps):
    """Least-squares fit of ``t_k = t0 + k T`` with ``k`` the pulse numbers implied by the
    nominal period; returns ``(t0_ps, period_ps, residuals_ps, k)``."""
    t = np.asarray(timestamps_ps, dtype=np.int64)
    k = np.round((t - t[0]) / nominal_period_ps).astype(np.int64)
    kc = k - k.mean()
    rel = (t - t[0]).astype(np.float64)
    period = float(np.dot(kc, rel - rel.mean()) / np.dot(kc, kc))
    offset = rel.mean() - period * k.mean()
    residuals = rel - (offset + period * k)
    return t[0] + offset, period, residuals, k


def measure_jitter(dev, generator, channel, *, generator_channel=1, period_s=10e-6, width_s=20e-9, high_v=2.5,
                   pulses=1000, output=None, timeout_s=60.0, progress=True):
    """Measure ``channel``'s timestamp jitter with the generator's pulse train; returns the BenchResult."""
    if pulses < 3:
        raise ValueError("at least 3 pulses")
    dev.channel_config(channel)                 # (checks the channel number)
    gch = generator.ch_1 if generator_channel == 1 else generator.ch_2
    result = BenchResult("jitter", channel=channel, period_s=period_s, pulses=pulses, bin_ps=float(dev.clock.bin_ps),
                         generator=generator.identity)
    saved_node = dev.regs.read(f"ch{channel}_ctrl", f"ch{channel}_delay", f"ch{channel}_dead_time")
    saved_gen = dict(output=gch.output, shape=gch.shape, pulse_period=gch.pulse_period, pulse_width=gch.pulse_width,
                     voltage_high=gch.voltage_high, voltage_low=gch.voltage_low, burst_state=gch.burst_state)

    def restore_generator():
        gch.output = False
        generator.apply(gch, **{k: v for k, v in saved_gen.items() if k != "output"})
        gch.output = saved_gen["output"]

    bar = tqdm(total=pulses, unit="pulse", desc="jitter", disable=not progress)
    with measuring(result, output, _plot), restoring("the generator", restore_generator), \
            restoring("the node's channel", lambda: dev.regs.write(saved_node)), bar:
        dev.configure(channel, rising=True, falling=False)
        gch.burst_state = False
        gch.pulse(period_s=period_s, width_s=width_s, high_v=high_v)
        gch.output = True
        counted = [0]

        def seen(block):
            counted[0] += int(np.count_nonzero((block.channel == channel) & (block.edge > 0)))
            bar.n = min(counted[0], pulses)
            bar.refresh()

        rec = dev.record(timeout_s, until=lambda: counted[0] >= pulses + 1, block_callback=seen)
        tags = rec.tags()
        t = np.sort(tags.timestamp_ps[(tags.channel == channel) & (tags.edge > 0)])[1:]
        if len(t) < 3:
            raise TimeoutError(f"only {len(t)} pulses reached channel {channel} in {timeout_s:g} s: is the "
                               f"generator's output {generator_channel} wired to it?")
        t0, period, residuals, k = fit_period(t, period_s * 1e12)
        result.update(pulses_measured=len(t), missed_pulses=int(k[-1] + 1 - len(t)),
                      lost_by_node=int(rec.lost_total), period_ps=period,
                      rms_ps=float(np.std(residuals)), peak_to_peak_ps=float(np.ptp(residuals)),
                      residuals_ps=residuals.round(1).tolist())
    return result


def _plot(result, path):
    pyplot = plt()
    residuals = np.asarray(result.get("residuals_ps", []))
    fig, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4))
    if len(residuals):
        left.plot(residuals, ".", markersize=2)
        right.hist(residuals, bins=min(60, max(5, len(np.unique(residuals)))))
    left.set_xlabel("pulse")
    left.set_ylabel("time error (ps)")
    right.set_xlabel("time error (ps)")
    right.set_ylabel("pulses")
    rms = result.get("rms_ps")
    fig.suptitle(f"channel {result['channel']} against a {result['period_s'] * 1e6:g} us period" +
                 (f": {rms:.0f} ps RMS" if rms is not None else " (interrupted)"))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
