"""The link's physics: closed forms against hand-derived limits and numerical
integration, and the Monte Carlo against the closed forms within statistics
(z-scores at fixed seeds, over parameter grids)."""

import itertools
import math

import numpy as np
import pytest

from qnu.herald import Outcome
from qnu.sim.physics import (Analytic, BeamSplitter, Detector, Emitter, Fibre, LinkPhysics, Transducer, emg_cdf,
                             simulate)
from qnu.sim.physics.montecarlo import decide

QUIET = Detector(dark_count_rate_hz=0.0)


def test_time_profile_matches_a_numerical_convolution():
    tau, sigma = 12_000.0, 900.0
    t = np.linspace(-10_000, 120_000, 260_001)
    dt = t[1] - t[0]
    exp_pdf = np.where(t >= 0, np.exp(-np.clip(t, 0, None) / tau) / tau, 0.0)
    kernel_t = np.arange(-6 * sigma, 6 * sigma + dt, dt)
    kernel = np.exp(-kernel_t ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    density = np.convolve(exp_pdf, kernel, mode="same") * dt
    cdf = np.cumsum(density) * dt
    for x in (-2_000, 0, 500, 5_000, 30_000):
        i = np.searchsorted(t, x)
        assert emg_cdf(x, tau, sigma) == pytest.approx(cdf[i], abs=2e-3)
    assert emg_cdf(12_000, 12_000, 0) == pytest.approx(1 - math.exp(-1))


def test_fibre_loss_and_delay():
    f = Fibre(length_m=10_000, loss_db_per_km=0.2)
    assert f.transmission == pytest.approx(10 ** -0.2)
    assert Fibre(length_m=1).delay_ps == pytest.approx(4897, abs=1)


def ideal(scheme="single-click", visibility=1.0, **kw):
    """Photons entirely inside the window (a long window, no jitter), no dark counts."""
    return LinkPhysics(scheme=scheme, window_ps=10_000_000, window_offset_ps=0,
                       late_window_offset_ps=20_000_000 if scheme == "barrett-kok" else None,
                       detector=Detector(efficiency=1.0, dark_count_rate_hz=0.0, jitter_ps=0.0),
                       beam_splitter=BeamSplitter(visibility), fibre_a=Fibre(0), fibre_b=Fibre(0), **kw)


@pytest.mark.parametrize("visibility", [0.0, 0.5, 1.0])
def test_single_click_against_its_hand_formula(visibility):
    alpha, ca, cb = 0.3, 0.4, 0.25
    a = Analytic(ideal(visibility=visibility, emitter=Emitter(alpha=alpha), collection_a=ca, collection_b=cb))
    ea, eb = a.eta("a"), a.eta("b")
    assert (ea, eb) == pytest.approx((ca, cb), rel=1e-6)
    o = a.outcomes()
    # both detectors click only if both nodes emitted, the photons split, and both were detected
    reject = alpha ** 2 * (1 - visibility) / 2 * ea * eb
    fail = (1 - alpha * ea) * (1 - alpha * eb)
    assert o[Outcome.REJECT] == pytest.approx(reject)
    assert o[Outcome.FAIL] == pytest.approx(fail)
    assert o[Outcome.PSI_PLUS] == pytest.approx(o[Outcome.PSI_MINUS]) == pytest.approx((1 - fail - reject) / 2)
    assert a.false_herald_fraction == 0


@pytest.mark.parametrize("visibility", [0.0, 1.0])
def test_barrett_kok_against_its_hand_formula(visibility):
    a = Analytic(ideal("barrett-kok", visibility=visibility, collection_a=0.5, collection_b=0.3))
    o = a.outcomes()
    # different spins: one photon per round, both detected; equal spins: both in one round
    assert o[Outcome.PSI_PLUS] + o[Outcome.PSI_MINUS] == pytest.approx(0.5 * 0.5 * 0.3)
    assert o[Outcome.PSI_PLUS] == pytest.approx(o[Outcome.PSI_MINUS])
    assert o[Outcome.REJECT] == pytest.approx(0.5 * (1 - visibility) / 2 * 0.5 * 0.3)


def test_dark_counts_alone_herald_falsely():
    rate, window = 1e5, 30_000
    a = Analytic(LinkPhysics(emitter=Emitter(alpha=0.0), window_ps=window,
                             detector=Detector(dark_count_rate_hz=rate)))
    pd = 1 - math.exp(-rate * window * 1e-12)
    assert a.p_dark_window == pytest.approx(pd)
    assert a.p_success == pytest.approx(2 * pd * (1 - pd))
    assert a.false_herald_fraction == pytest.approx(1.0)


def grid(scheme):
    """A small grid of alpha (or emission), collection, dark rate and window; dead time >= window."""
    base = dict(scheme=scheme, late_window_offset_ps=150_000 if scheme == "barrett-kok" else None)
    for alpha, collection, dark, window in itertools.product((0.1, 0.4), (0.2, 0.6), (20.0, 1e5), (15_000, 40_000)):
        yield LinkPhysics(window_ps=window, collection_a=collection, collection_b=collection / 2,
                          emitter=Emitter(alpha=alpha, emission_probability=min(1.0, 2.5 * alpha),
                                          double_excitation=0.05),
                          detector=Detector(dark_count_rate_hz=dark, dead_time_ps=window, jitter_ps=300),
                          **base)
    yield LinkPhysics(transducer_a=Transducer(efficiency=0.5, noise_photons=0.2, bandwidth_hz=20e6),
                      collection_a=0.8, collection_b=0.3, window_ps=40_000, detector=Detector(dead_time_ps=40_000),
                      **base)


def z_scores(physics, attempts, seed):
    a = Analytic(physics)
    clicks = simulate(physics, attempts, seed=seed)
    outcome = decide(physics, clicks)
    z = {}
    for o, p in a.outcomes().items():
        k = (outcome == int(o)).sum()
        z[o.key] = (k / attempts - p) / math.sqrt(max(p * (1 - p), 1e-12) / attempts)
    success = (outcome == Outcome.PSI_PLUS) | (outcome == Outcome.PSI_MINUS)
    f = a.false_herald_fraction
    if success.sum() and 0 < f < 1:
        z["false_herald"] = (clicks.false[success].mean() - f) / math.sqrt(f * (1 - f) / success.sum())
    return z


@pytest.mark.parametrize("scheme", ["single-click", "barrett-kok"])
def test_monte_carlo_agrees_with_the_closed_forms(scheme):
    for i, physics in enumerate(grid(scheme)):
        z = z_scores(physics, 60_000, seed=i)
        assert max(abs(v) for v in z.values()) < 4, (physics, z)


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["single-click", "barrett-kok"])
def test_monte_carlo_agrees_with_the_closed_forms_at_a_million_attempts(scheme):
    for i, physics in enumerate(grid(scheme)):
        z = z_scores(physics, 1_000_000, seed=100 + i)
        assert max(abs(v) for v in z.values()) < 4.5, (physics, z)


def test_afterpulses_follow_clicks_and_the_monte_carlo_counts_them():
    det = Detector(dark_count_rate_hz=0.0, afterpulsing=0.5, afterpulse_delay_ps=50_000, dead_time_ps=10_000)
    physics = LinkPhysics(detector=det, collection_a=0.9, collection_b=0.9, emitter=Emitter(alpha=0.5))
    clicks = simulate(physics, 20_000, seed=3)
    after = clicks.source == 3
    first = (clicks.source == 0)
    ratio = after.sum() / first.sum()
    # each signal click brings an afterpulse half the time, and an afterpulse its own: 0.5 + 0.25 + ...
    assert ratio == pytest.approx(1.0, abs=0.05)
