"""The oscillator model's noise against the textbook Allan variances, measured by allantools."""

import allantools
import numpy as np
import pytest

from qnu.sim.oscillator import Oscillator, OscillatorSpec

CLOCK_HZ = 10e6         # a slow clock: long spans for few samples


def phase_s(spec, cycles, seed=1):
    """Each cycle's time error against a perfect clock of the nominal frequency, in seconds."""
    osc = Oscillator(spec, CLOCK_HZ, seed)
    t = osc.next_cycles(cycles)
    return (t - spec.start_ps - np.arange(cycles) * 1e12 / CLOCK_HZ) * 1e-12


def adev(x, taus):
    got_taus, dev, err, _ = allantools.oadev(x, rate=CLOCK_HZ, data_type="phase", taus=taus)
    return got_taus, dev, err


def test_a_frequency_offset_runs_the_phase_off_linearly():
    spec = OscillatorSpec(ppm=50, white_pm_ps=0, rw_fm=0, drift_per_s=0)
    x = phase_s(spec, 100_000)
    # 50 ppm fast: each period is T0 / (1 + 50e-6) long
    want = np.arange(100_000) / CLOCK_HZ * (1 / (1 + 50e-6) - 1)
    assert np.allclose(x, want, rtol=0, atol=1e-15)


def test_white_phase_noise_has_the_allan_deviation_of_white_pm():
    sigma_ps = 20.0
    x = phase_s(OscillatorSpec(white_pm_ps=sigma_ps, rw_fm=0, drift_per_s=0), 200_000)
    taus, dev, _ = adev(x, [1e-6, 1e-5, 1e-4])
    want = np.sqrt(3) * sigma_ps * 1e-12 / taus
    assert np.allclose(dev, want, rtol=0.1)


def test_random_walk_fm_has_the_allan_deviation_of_random_walk_fm():
    rw = 1e-6           # (large, to see it over a short span)
    x = phase_s(OscillatorSpec(white_pm_ps=0, rw_fm=rw, drift_per_s=0), 2_000_000, seed=3)
    taus, dev, _ = adev(x, [2e-5, 5e-5])
    want = rw * np.sqrt(taus / 3)
    assert np.allclose(dev, want, rtol=0.25)


def test_drift_has_the_allan_deviation_of_a_linear_drift():
    drift = 1e-3        # per second (large, to see it over a short span)
    x = phase_s(OscillatorSpec(white_pm_ps=0, rw_fm=0, drift_per_s=drift), 1_000_000)
    taus, dev, _ = adev(x, [1e-3, 1e-2])
    assert np.allclose(dev, drift * taus / np.sqrt(2), rtol=0.05)


def test_blocks_join_up_and_the_seed_fixes_the_noise():
    spec = OscillatorSpec(ppm=-80, rw_fm=1e-7)
    whole = Oscillator(spec, CLOCK_HZ, 7).next_cycles(5000)
    parts = Oscillator(spec, CLOCK_HZ, 7)
    pieces = [parts.next_cycles(n) for n in (1, 999, 1500, 2500)]
    # (the white noise is drawn per block: the noiseless parts must agree, and every edge be in order)
    quiet = OscillatorSpec(ppm=-80, rw_fm=1e-7, white_pm_ps=0)
    a = Oscillator(quiet, CLOCK_HZ, 7).next_cycles(5000)
    split = Oscillator(quiet, CLOCK_HZ, 7)
    b = np.concatenate([split.next_cycles(1234), split.next_cycles(3766)])
    assert np.allclose(a, b, rtol=0, atol=1e-6)
    assert np.all(np.diff(np.concatenate(pieces)) > 0) and np.all(np.diff(whole) > 0)


def test_an_impossible_crystal_is_refused():
    with pytest.raises(ValueError):
        OscillatorSpec(ppm=5000)
