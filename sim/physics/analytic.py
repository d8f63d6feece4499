"""Closed-form outcome probabilities of one attempt, for both schemes
(derivation: docs/physics.md).

Detectors are threshold detectors here: a detector that detects anything in
a window counts as one click. The herald unit rejects a detector clicking
twice in a window; that takes two detections in one window further apart
than the dead time, which the formulas leave out (with a dead time at least
the window's width it cannot happen). Afterpulsing is left out too.
"""

import itertools
import math

from qnu.herald import Outcome

__all__ = ["Analytic", "emg_cdf", "window_distribution"]


def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def emg_cdf(x, lifetime, sigma):
    """P(T <= x) for T = Exp(lifetime) + Normal(0, sigma): a photon's arrival
    after its excitation, decay and timing jitter."""
    if sigma <= 0:
        return 1 - math.exp(-x / lifetime) if x > 0 else 0.0
    b = x / sigma - sigma / lifetime
    tail = 0.0 if b < -37 else math.exp(-x / lifetime + sigma ** 2 / (2 * lifetime ** 2)) * _phi(b)
    return _phi(x / sigma) - tail


def window_distribution(independent, pair, visibility, quiet):
    """One window's (P none, P only detector 0, P only detector 1, P both).

    ``independent``: detection probabilities of photons each routed to either
    detector with probability 1/2; ``pair``: None or the detection
    probabilities of the two nodes' photons, which interfere: they leave by
    the same port with probability (1 + V) / 2; ``quiet``: the probability a
    detector sees neither a dark count nor a noise photon."""
    routes = [((0, 0), (1 + visibility) / 4), ((1, 1), (1 + visibility) / 4),
              ((0, 1), (1 - visibility) / 4), ((1, 0), (1 - visibility) / 4)] if pair else [((), 1.0)]
    total = [0.0, 0.0, 0.0, 0.0]
    for pair_route, p_pair in routes:
        for ports in itertools.product((0, 1), repeat=len(independent)):
            p = p_pair * 0.5 ** len(independent)
            q = [quiet, quiet]          # no click at each detector
            for eta, port in zip(independent, ports):
                q[port] *= 1 - eta
            for eta, port in zip(pair or (), pair_route):
                q[port] *= 1 - eta
            total[0] += p * q[0] * q[1]
            total[1] += p * (1 - q[0]) * q[1]
            total[2] += p * q[0] * (1 - q[1])
            total[3] += p * (1 - q[0]) * (1 - q[1])
    return total


class Analytic:
    """Outcome probabilities of one attempt under ``physics`` (a LinkPhysics).

    ``bin_ps``: the herald decides on whole ticks (a click's tick is the first
    sample at or after it), so a window of ticks ``[o, o + w)`` takes photons
    in ``((o - 1) bin, (o + w - 1) bin]``; without, windows are continuous."""

    def __init__(self, physics, bin_ps=None):
        self.p = physics
        self.shift = float(bin_ps) if bin_ps else 0.0

    # --- per photon -------------------------------------------------------
    def window(self, r):
        lo = self.p.window_offsets()[r] - self.shift
        return lo, lo + self.p.window_ps

    def time_share(self, which, r):
        """The share of a photon's time profile, jitter included, inside window ``r``."""
        lo, hi = self.window(r)
        t0 = self.p.arrivals()[r]
        tau, sigma = self.p.lifetime_ps(which), self.p.jitter_ps(which)
        return emg_cdf(hi - t0, tau, sigma) - emg_cdf(lo - t0, tau, sigma)

    def eta(self, which, r=0):
        """A photon of node ``which`` emitted for round ``r`` is detected inside its window."""
        return self.p.transmission(which) * self.p.detector.efficiency * self.time_share(which, r)

    def noise_detected(self, r):
        """Mean transducer noise photons detected in window ``r``, both detectors together."""
        total = 0.0
        for which in "ab":
            transducer = self.p.node(which)[2]
            if transducer is not None:
                total += transducer.noise_photons * self.p.noise_transmission(which) * \
                    self.p.detector.efficiency * self.time_share(which, r)
        return total

    @property
    def p_dark_window(self):
        """One detector's probability of a dark count in one window."""
        return 1 - math.exp(-self.p.detector.dark_count_rate_hz * self.p.window_ps * 1e-12)

    # --- per attempt ------------------------------------------------------
    def _quiet(self, r, noiseless):
        if noiseless:
            return 1.0
        return (1 - self.p_dark_window) * math.exp(-self.noise_detected(r) / 2)

    def _configurations(self):
        """(probability, photons per round: [(node, count)]) of what the nodes emit."""
        e, p2 = self.p.emitter, self.p.emitter.double_excitation
        if self.p.rounds == 1:
            per_node = [(1 - e.alpha, 0), (e.alpha * (1 - p2), 1), (e.alpha * p2, 2)]
            for (pa, na), (pb, nb) in itertools.product(per_node, repeat=2):
                yield pa * pb, [{"a": na, "b": nb}]
        else:
            per_node = [(1 - e.emission_probability, 0), (e.emission_probability * (1 - p2), 1),
                        (e.emission_probability * p2, 2)]
            for sa, sb in itertools.product((0, 1), repeat=2):           # each spin: early or late
                for (pa, na), (pb, nb) in itertools.product(per_node, repeat=2):
                    rounds = [{"a": 0, "b": 0}, {"a": 0, "b": 0}]
                    rounds[sa]["a"] = na
                    rounds[sb]["b"] = nb
                    yield 0.25 * pa * pb, rounds

    def _round(self, r, photons, noiseless):
        na, nb = photons["a"], photons["b"]
        ea, eb = self.eta("a", r), self.eta("b", r)
        pair = (ea, eb) if na and nb else None
        independent = [ea] * (na - (1 if pair else 0)) + [eb] * (nb - (1 if pair else 0))
        return window_distribution(independent, pair, self.p.beam_splitter.visibility, self._quiet(r, noiseless))

    def outcomes(self, noiseless=False):
        """Outcome -> probability (``noiseless``: with no dark count or noise photon anywhere)."""
        out = dict.fromkeys(Outcome, 0.0)
        for p, rounds in self._configurations():
            if p == 0:
                continue
            dists = [self._round(r, photons, noiseless) for r, photons in enumerate(rounds)]
            if self.p.rounds == 1:
                none, only0, only1, both = dists[0]
                out[Outcome.FAIL] += p * none
                out[Outcome.PSI_PLUS] += p * only0
                out[Outcome.PSI_MINUS] += p * only1
                out[Outcome.REJECT] += p * both
            else:
                (en, e0, e1, eb), (ln, l0, l1, lb) = dists
                reject = 1 - (1 - eb) * (1 - lb)
                out[Outcome.REJECT] += p * reject
                out[Outcome.PSI_PLUS] += p * (e0 * l0 + e1 * l1)
                out[Outcome.PSI_MINUS] += p * (e0 * l1 + e1 * l0)
                out[Outcome.FAIL] += p * (1 - reject - e0 * l0 - e1 * l1 - e0 * l1 - e1 * l0)
        return out

    @property
    def p_success(self):
        o = self.outcomes()
        return o[Outcome.PSI_PLUS] + o[Outcome.PSI_MINUS]

    @property
    def p_genuine_success(self):
        """Successes with no dark count and no noise photon detected in any window."""
        o = self.outcomes(noiseless=True)
        quiet = 1.0
        for r in range(self.p.rounds):
            quiet *= (1 - self.p_dark_window) ** 2 * math.exp(-self.noise_detected(r))
        return (o[Outcome.PSI_PLUS] + o[Outcome.PSI_MINUS]) * quiet

    @property
    def false_herald_fraction(self):
        """The share of successes in which a dark count or a noise photon was detected in a window."""
        return 1 - self.p_genuine_success / self.p_success if self.p_success else 0.0
