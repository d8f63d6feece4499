"""The node's attempt loop from the host: ``dev.attempts``.

    dev.outputs[0].source = OutputSource.SEQUENCER
    dev.attempts.start(period_ps=5_500_000, count=1000,
                       pattern=[AttemptPulse(0, offset_ps=0, width_ps=20_000),
                                AttemptPulse(1, offset_ps=100_000, width_ps=10_000)],
                       stop_on=3)                       # a herald arriving on input 3
    status = dev.attempts.wait()                        # AttemptStatus(state, reason, attempts)

An attempt replays the pattern's pulses at their offsets from its start;
attempts start every ``period_ps`` from the first, which starts at
``start_ps`` on the node's timebase (default: ``lead_s`` from now). The loop
stops after ``count`` attempts (0: never), when the host stops it, when a
rising edge reaches the stop input (then the ``on_success`` pulses fire), or
at once if its start time had already passed (reason LATE_START, nothing
played).
"""

import time
from dataclasses import dataclass

from qnu.regmap import PATTERN_ENTRIES, AttemptState, StopReason

from .errors import AttemptsRefused, DeviceError, QnuError

__all__ = ["AttemptPulse", "AttemptStatus", "Attempts", "AttemptState", "StopReason"]

_MAX_WIDTH = 0xFFFF
_MASK32 = 0xFFFF_FFFF


@dataclass(frozen=True)
class AttemptPulse:
    """A pulse on ``output``, ``offset_ps`` after each attempt's start (``on_success``:
    once, after the loop stopped on its stop input), ``width_ps`` wide."""
    output: int
    offset_ps: int
    width_ps: int
    on_success: bool = False


@dataclass(frozen=True)
class AttemptStatus:
    state: AttemptState
    reason: StopReason
    attempts: int           # attempts started since the last start

    @property
    def running(self):
        return self.state != AttemptState.IDLE

    def __str__(self):
        if self.running:
            return f"{self.state.name.lower()}, {self.attempts} attempts so far"
        return f"idle after {self.attempts} attempts (stopped: {self.reason.name.lower().replace('_', ' ')})"


class Attempts:
    """The attempt loop of one node (its ``features`` has ``attempts``)."""

    entries = PATTERN_ENTRIES

    def __init__(self, device):
        self._dev = device

    def start(self, *, period_ps, pattern, count=0, stop_on=None, start_ps=None, lead_s=0.01):
        """Program the loop and start it; returns the first attempt's tick.

        ``stop_on``: None, an input channel (a rising edge there stops the loop:
        a herald by cable), or ``"herald"`` (the local herald unit). Times are
        rounded to whole fine ticks. A pattern that does not fit the period, or
        a period under one core cycle, is refused before anything is sent."""
        dev = self._dev
        clock = dev.clock
        period = self._dev.clock.whole_ticks("period_ps", period_ps)
        pattern = list(pattern)
        if len(pattern) > self.entries:
            raise ValueError(f"a pattern holds at most {self.entries} pulses, not {len(pattern)}")
        if period < dev.info.samples_per_cycle or period > _MASK32:
            raise ValueError(f"the period must be {dev.info.samples_per_cycle} to {_MASK32} ticks "
                             f"(one core cycle to 2**32 - 1), not {period} ({period_ps} ps)")
        if not 0 <= count <= _MASK32:
            raise ValueError(f"count must be 0 (until stopped) to {_MASK32}, not {count}")
        values = {}
        for i in range(self.entries):
            ctrl, offset = 0, 0
            if i < len(pattern):
                p = pattern[i]
                if not 0 <= p.output < dev.features.outputs:
                    raise ValueError(f"pulse {i}: output {p.output} does not exist (the node has "
                                     f"{dev.features.outputs})")
                offset = self._dev.clock.whole_ticks(f"pulse {i} offset_ps", p.offset_ps)
                width = self._dev.clock.whole_ticks(f"pulse {i} width_ps", p.width_ps)
                if not 1 <= width <= _MAX_WIDTH:
                    raise ValueError(f"pulse {i}: width must be 1 to {_MAX_WIDTH} ticks, not {width} "
                                     f"({p.width_ps} ps)")
                if offset > _MASK32 or (not p.on_success and offset + width > period):
                    raise ValueError(f"pulse {i} (offset {offset}, width {width} ticks) does not end within "
                                     f"the period of {period} ticks")
                ctrl = p.output | 1 << 4 | int(p.on_success) << 5 | width << 16
            values[f"att_pat{i}_offset"], values[f"att_pat{i}_ctrl"] = offset, ctrl
        stop = 0
        if stop_on == "herald":
            stop = 0b10
        elif stop_on is not None:
            if not (isinstance(stop_on, int) and 0 <= stop_on < dev.channels):
                raise ValueError(f"stop_on must be None, 'herald' or an input channel 0 to {dev.channels - 1}, "
                                 f"not {stop_on!r}")
            stop = 1 | stop_on << 8
        if start_ps is None:
            start = dev.read_time() + max(1, round(lead_s * 1e12 / float(clock.bin_ps)))
        else:
            start = self._dev.clock.whole_ticks("start_ps", start_ps)
        values.update({"att_period": period, "att_count": count, "att_stop": stop,
                       "att_start": start})
        self.stop()             # a running loop would start afresh mid-programming
        dev.regs.write(values)
        try:
            dev.regs.write({"att_ctrl": 1})
        except DeviceError as e:
            raise AttemptsRefused(f"the node refused to start the attempt loop ({e})") from None
        return start

    def stop(self):
        """Stop the loop (attempts already started finish their pattern)."""
        self._dev.regs.write({"att_ctrl": 2})

    def status(self):
        v = self._dev.regs.read("att_status", "att_attempts")
        return AttemptStatus(AttemptState(v["att_status"] & 3), StopReason(v["att_status"] >> 4 & 7),
                             v["att_attempts"])

    def wait(self, timeout_s=None, poll_s=0.05, progress=None):
        """Poll until the loop is idle; its final AttemptStatus. ``progress(status)`` sees
        every poll. QnuError if still running after ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            status = self.status()
            if progress is not None:
                progress(status)
            if not status.running:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                raise QnuError(f"the attempt loop is still running after {timeout_s} s ({status})")
            time.sleep(poll_s)
