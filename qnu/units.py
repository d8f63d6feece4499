"""Conversions between the node's fine ticks and host picoseconds."""

from fractions import Fraction

import numpy as np

__all__ = ["TickClock", "SAMPLES_PER_CYCLE_CHOICES"]

#: the samples per core cycle a node can take (a power of two, so a tick's
#: sample index is the low bits of its count)
SAMPLES_PER_CYCLE_CHOICES = (1, 2, 4, 8, 16)


class TickClock:
    """The fine tick of a node: the system clock period over the samples per cycle.

    Host time is integer picoseconds. A timestamp of ``s`` ticks means the
    edge happened after sample ``s - 1`` and at or before sample ``s``, so
    :meth:`to_ps` reports the middle of that bin: the error is then uniform
    over one bin, of zero mean and ``bin / sqrt(12)`` RMS.
    """

    def __init__(self, clock_hz, samples_per_cycle):
        if samples_per_cycle not in SAMPLES_PER_CYCLE_CHOICES:
            raise ValueError(f"samples_per_cycle must be one of {SAMPLES_PER_CYCLE_CHOICES}, not {samples_per_cycle}")
        if clock_hz <= 0:
            raise ValueError(f"clock_hz must be positive, not {clock_hz}")
        self.clock_hz = clock_hz
        self.samples_per_cycle = samples_per_cycle
        self.bin_ps = Fraction(10 ** 12) / (Fraction(clock_hz) * samples_per_cycle)

    def __repr__(self):
        return f"TickClock({self.clock_hz} Hz, {self.samples_per_cycle} samples/cycle, {float(self.bin_ps):g} ps bins)"

    def to_ps(self, ticks):
        """Timestamp(s) in ticks -> int64 ps at the middle of the bin (rounded down)."""
        num, den = self.bin_ps.numerator, self.bin_ps.denominator
        t = np.asarray(ticks, dtype=np.int64)
        # (2t - 1) * bin / 2, split so that t * num cannot overflow int64
        q, r = np.divmod(t, den)
        whole = q * num
        part = (2 * r * num - num) // (2 * den)
        out = whole + part
        return out if out.ndim else int(out)

    def tick_of(self, timestamp_ps):
        """Timestamp(s) in ps from :meth:`to_ps` -> the tick(s) they came from (its inverse)."""
        num, den = self.bin_ps.numerator, self.bin_ps.denominator
        # to_ps placed tick t at (t - 1/2) bins, rounded down: always inside bin t - 1
        out = np.asarray(timestamp_ps, dtype=np.int64) * den // num + 1
        return out if out.ndim else int(out)

    def whole_ticks(self, what, ps):
        """A non-negative integer time ``what`` in ps -> the nearest whole tick, checked
        (TypeError if not an integer, ValueError if negative)."""
        if isinstance(ps, bool) or not hasattr(ps, "__index__"):
            raise TypeError(f"{what} is integer picoseconds, not {ps!r}")
        if ps < 0:
            raise ValueError(f"{what} must not be negative, not {ps} ps")
        return self.to_ticks(int(ps))

    def to_ticks(self, ps):
        """Duration(s) in ps -> whole ticks, rounded to nearest (for delays and dead times)."""
        ps = np.asarray(ps, dtype=np.int64)
        num, den = self.bin_ps.numerator, self.bin_ps.denominator
        out = (2 * ps * den + num) // (2 * num)
        return out if out.ndim else int(out)
