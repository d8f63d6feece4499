"""A node's free-running oscillator, for the sync co-simulation (docs/sync.md).

Each node's core clock is its own crystal oscillator: cycle ``k`` starts at
physical time ``t_k`` (picoseconds), with

    t_k = start_ps + sum over j < k of T0 / (1 + y_j)  +  w_k

where ``T0`` is the nominal period, ``w_k`` white phase noise (independent
per edge, ``white_pm_ps`` RMS) and ``y_j`` the fractional frequency offset of
cycle ``j``:

    y(t) = ppm * 1e-6 + drift_per_s * t + r(t)

``r`` a random walk (random-walk FM: its variance grows by ``rw_fm**2`` per
second). The fractional frequency is held for ``STEP_S`` of simulated time at
a time (a random walk's steps, and the drift's).

The Allan variance of each term is textbook (Riley, *Handbook of Frequency
Stability Analysis*, NIST SP 1065, Table 5 and section 5.2):

- white PM: ``sigma_y^2(tau) = 3 * white_pm**2 / tau**2``;
- random-walk FM: ``sigma_y^2(tau) = rw_fm**2 * tau / 3``;
- linear drift: ``sigma_y(tau) = drift_per_s * tau / sqrt(2)``.

Defaults are those of a cheap 25 MHz crystal oscillator multiplied by an
FPGA's PLL (the boards' clocks):

- frequency tolerance within +-50 ppm (typical datasheet figure);
- a few ps RMS of jitter on the multiplied clock edges;
- an Allan deviation near 1e-10 at 1 s, from random-walk FM;
- aging of about 1 ppm a year, 3e-14 per second.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["OscillatorSpec", "Oscillator", "STEP_S"]

STEP_S = 1e-6           # the fractional frequency is held this long at a time


@dataclass(frozen=True)
class OscillatorSpec:
    ppm: float = 0.0                # fractional frequency offset, parts per million
    start_ps: float = 0.0           # when cycle 0 starts
    white_pm_ps: float = 3.0        # white phase noise of each edge, RMS
    rw_fm: float = 1.7e-10          # random-walk FM: RMS change of y over one second
    drift_per_s: float = 3e-14      # aging: change of y per second

    def __post_init__(self):
        if not -1000 <= self.ppm <= 1000:
            raise ValueError(f"a crystal is within 1000 ppm of its frequency, not {self.ppm} ppm")
        if self.white_pm_ps < 0 or self.rw_fm < 0:
            raise ValueError("noise amplitudes are not negative")


class Oscillator:
    """Cycle start times of one oscillator, generated in order, block by block."""

    def __init__(self, spec, clock_hz, seed):
        self.spec, self.period_ps = spec, 1e12 / clock_hz
        self._rng = np.random.default_rng(seed)
        self._cycles_per_step = max(1, round(STEP_S * clock_hz))
        self._next_cycle = 0
        self._t = float(spec.start_ps)     # the next cycle's start, noiseless
        self._walk = 0.0

    def fractional_frequency(self, t_ps):
        """y at time ``t_ps`` without the random walk (the offset and the drift)."""
        return self.spec.ppm * 1e-6 + self.spec.drift_per_s * t_ps * 1e-12

    def next_cycles(self, count):
        """The start times (ps, float64) of the next ``count`` cycles."""
        out = np.empty(count)
        done = 0
        s = self.spec
        while done < count:
            in_step = self._cycles_per_step - self._next_cycle % self._cycles_per_step
            take = min(in_step, count - done)
            y = self.fractional_frequency(self._t) + self._walk
            period = self.period_ps / (1 + y)
            out[done:done + take] = self._t + period * np.arange(take)
            self._t += period * take
            self._next_cycle += take
            done += take
            if self._next_cycle % self._cycles_per_step == 0 and s.rw_fm:
                self._walk += self._rng.normal(0.0, s.rw_fm * np.sqrt(STEP_S))
        if s.white_pm_ps:
            out += self._rng.normal(0.0, s.white_pm_ps, count)
        return out
