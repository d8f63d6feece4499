"""Loopback calibration: the fixed latency of a node's trigger output and tagger input.

A geared front end's latency is constant from each start but can differ by
whole core cycles between power-ups (see docs/boards.md), so it is measured
once per power-up, like a cable: loop trigger output 0 back into a tagger
input and call :func:`calibrate_loopback`. Each trigger pulse leaves on the
fine tick where a pulse period starts (a multiple of ``pulse_period`` on the
node's time), so a looped pulse's timestamp minus that multiple is the output
latency plus the input latency plus the loop cable. Subtract it from
timestamps on the host: a channel's ``delay`` only adds.

    with open_device("/dev/ttyUSB1") as dev:
        loop = calibrate_loopback(dev, channel=3)
        print(loop)     # loop on channel 3: 41250 ps (33 ticks), 16 pulses, spread 0 ticks
"""

import time
from dataclasses import dataclass

import numpy as np

from qnu.regmap import MIN_PULSE_PERIOD
from .errors import QnuError

__all__ = ["CalibrationError", "LoopbackCalibration", "calibrate_loopback", "loop_offsets"]

class CalibrationError(QnuError):
    """No clean loopback: too few pulses came back, or their offsets disagree."""


@dataclass(frozen=True)
class LoopbackCalibration:
    channel: int
    offset_ticks: int       # the looped pulses' timestamp minus their period start, in fine ticks
    offset_ps: int          # the same, in ps (the middle of that tick's bin)
    pulses: int             # looped pulses measured
    spread_ticks: int       # largest minus smallest offset seen (0 or 1 for a clean loop)

    def __str__(self):
        return (f"loop on channel {self.channel}: {self.offset_ps} ps ({self.offset_ticks} ticks), "
                f"{self.pulses} pulses, spread {self.spread_ticks} ticks")


def loop_offsets(ticks, period_ticks):
    """Each timestamp's offset after the period start it follows: ``ticks mod period``,
    unwrapped around the median so that a loop of about a whole period does not split
    into offsets near 0 and near ``period``. Returns int64 offsets."""
    offsets = np.asarray(ticks, dtype=np.int64) % period_ticks
    if not len(offsets):
        return offsets
    centre = int(np.median(offsets))
    # offsets more than half a period from the centre belong to the neighbouring period
    return centre + (offsets - centre + period_ticks // 2) % period_ticks - period_ticks // 2


def calibrate_loopback(device, channel, *, period_ps=40_000_000, pulses=16, timeout_s=10.0, tolerance_ticks=1):
    """Measure the loop from trigger output 0 to tagger input ``channel``.

    Sets the pulse period to ``period_ps`` (longer than the loop), takes the
    rising edges of ``pulses`` looped pulses (within ``timeout_s`` of wall
    time), then restores the pulse period and the channel's settings. Raises
    :class:`CalibrationError` when fewer pulses come back or their offsets
    spread over more than ``tolerance_ticks``.
    """
    clock = device.clock
    period_ticks = clock.to_ticks(period_ps)
    if period_ticks < MIN_PULSE_PERIOD:
        raise ValueError(f"period_ps must be at least {MIN_PULSE_PERIOD} ticks "
                         f"({float(MIN_PULSE_PERIOD * clock.bin_ps):g} ps), not {period_ps}")
    if pulses < 2:
        raise ValueError(f"pulses must be at least 2, not {pulses}")
    device.channel_config(channel)      # (checks the channel number)
    # restored word for word afterwards
    saved = device.regs.read("pulse_period_lo", "pulse_period_hi", f"ch{channel}_ctrl",
                             f"ch{channel}_delay", f"ch{channel}_dead_time")
    try:
        device.configure(channel, enable=False)
        device.set_pulse_period(period_ticks)
        device.read_events()    # drop whatever came under the old period
        device.configure(channel, enable=True, rising=True, falling=False)
        started = time.monotonic()
        recording = device.record(timeout_s, max_tags=pulses + 1)
        elapsed = time.monotonic() - started
    finally:
        device.regs.write(saved)
    tags = recording.tags()
    mine = tags.timestamp_ps[(tags.channel == channel) & (tags.edge > 0)]
    # the first pulse may have been cut by the enable: measure the ones after it
    mine = mine[1:pulses + 1]
    if len(mine) < pulses:
        raise CalibrationError(
            f"only {len(mine)} of {pulses} looped pulses came back on channel {channel} in {elapsed:.1f} s: "
            f"is trigger output 0 wired to input {channel}?")
    offsets = loop_offsets(clock.tick_of(mine), period_ticks)
    spread = int(offsets.max() - offsets.min())
    if spread > tolerance_ticks:
        raise CalibrationError(
            f"the looped pulses on channel {channel} disagree by {spread} ticks "
            f"({float(spread * clock.bin_ps):g} ps): is something else on that input?")
    offset = int(np.median(offsets))
    return LoopbackCalibration(channel, offset, int(clock.to_ps(offset)), len(mine), spread)

