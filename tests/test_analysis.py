"""qnu.analysis: every function against a brute-force reference on small inputs, the
normalisation and the stability measures against their definitions and allantools."""

import allantools
import numpy as np
import pytest

from qnu.analysis import (adev, coincidence_times, coincidences, correlation, correlation_normalised,
                          correlation_taus, count_rate_trace, count_rates, herald_statistics, mdev,
                          phase_from_timestamps, start_stop, start_stop_pairs, tdev, time_differences)
from qnu.herald import Outcome
from qnu.recording import Herald

RNG = np.random.default_rng(7)


def sorted_tags(n, span, rng=RNG):
    return np.sort(rng.integers(0, span, n)).astype(np.int64)


def test_count_rates():
    rates = count_rates([0, 0, 2, 2, 2], duration_ps=10 ** 6, n_channels=4)
    assert list(rates) == [2e6, 0, 3e6, 0]
    with pytest.raises(ValueError):
        count_rates([0], 0)


def test_count_rate_trace_against_a_loop():
    t = sorted_tags(500, 10 ** 6)
    starts, rates = count_rate_trace(t, 30_000, start_ps=1_000)
    for s, r in zip(starts, rates):
        assert r == sum(1 for x in t if s <= x < s + 30_000) * 1e12 / 30_000
    assert starts[-1] + 30_000 <= t[-1] + 1


def test_coincidences_count_each_a_once():
    a = [100, 1000, 5000]
    b = [110, 990, 1005, 9000]
    assert coincidences(a, b, 20) == 2
    assert coincidences(a, [], 20) == 0


def test_coincidence_times_of_a_group_against_loops():
    ref, b, c = sorted_tags(300, 10 ** 5), sorted_tags(400, 10 ** 5), sorted_tags(400, 10 ** 5)
    windows = [(-200, 500), (100, 250)]
    got = coincidence_times(ref, [b, c], windows)
    want = [r for r in ref if all(any(r + o <= t < r + o + w for t in tags) for tags, (o, w) in zip((b, c), windows))]
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        coincidence_times(ref, [b], windows)


@pytest.mark.parametrize("binwidth, n_bins", [(100, 40), (37, 11), (1000, 1)])
def test_correlation_against_every_pair(binwidth, n_bins):
    a, b = sorted_tags(200, 10 ** 5), sorted_tags(250, 10 ** 5)
    got = correlation(a, b, binwidth, n_bins)
    low = -(n_bins * binwidth) // 2
    want = np.zeros(n_bins, np.int64)
    for x in a:
        for y in b:
            k = (y - x - low) // binwidth
            if 0 <= k < n_bins:
                want[k] += 1
    np.testing.assert_array_equal(got, want)
    assert len(correlation_taus(binwidth, n_bins)) == n_bins


def test_correlation_blocks_give_the_same_counts(monkeypatch):
    import importlib
    module = importlib.import_module("qnu.analysis.correlation")
    a, b = sorted_tags(3000, 10 ** 7), sorted_tags(3000, 10 ** 7)
    whole = correlation(a, b, 500, 64)
    monkeypatch.setattr(module, "_BLOCK", 7)
    np.testing.assert_array_equal(module.correlation(a, b, 500, 64), whole)


def test_g2_of_independent_poisson_streams_is_one_and_a_pair_shows_its_delay():
    rng = np.random.default_rng(3)
    span = 10 ** 12                                            # 1 s
    a, b = sorted_tags(200_000, span, rng), sorted_tags(200_000, span, rng)
    g2 = correlation_normalised(a, b, 1_000, 200, duration_ps=span)
    expected = 200_000 * 200_000 * 1_000 / span               # 40 pairs a bin
    assert abs(g2.mean() - 1) < 4 / np.sqrt(expected * 200)
    # a partner 5 ns after a third of a's tags, on top of b: a peak at +5 ns of height 1 + (1/3)/(N_b bw/T)
    partners = np.sort(np.concatenate([b, a[::3] + 5_000]))
    g2 = correlation_normalised(a, partners, 1_000, 200, duration_ps=span)
    peak = np.argmax(g2)
    assert correlation_taus(1_000, 200)[peak] == 5_500
    excess = (len(a[::3]) / len(a)) / (len(partners) * 1_000 / span)
    assert g2[peak] == pytest.approx(1 + excess, rel=0.1)


def test_start_stop_against_a_sequential_reference():
    a, b = sorted_tags(300, 10 ** 5), sorted_tags(300, 10 ** 5)
    a[10] = b[10]                                              # a start and a stop on one tick
    events = sorted([(t, 0) for t in a] + [(t, 1) for t in b])
    pairs, open_start = [], None
    for t, kind in events:
        if kind == 0:
            open_start = t
        elif open_start is not None:
            pairs.append((open_start, t))
            open_start = None
    starts, stops = start_stop_pairs(a, b)
    assert list(zip(starts, stops)) == pairs
    want = np.zeros(25, np.int64)
    for s, e in pairs:
        if (e - s) < 25 * 40:
            want[(e - s) // 40] += 1
    np.testing.assert_array_equal(start_stop(a, b, 40, 25), want)


def test_time_differences_against_every_pair():
    a, b = sorted_tags(150, 10 ** 5), sorted_tags(150, 10 ** 5)
    want = np.zeros(30, np.int64)
    for x in a:
        for y in b:
            if 0 <= y - x < 30 * 50:
                want[(y - x) // 50] += 1
    np.testing.assert_array_equal(time_differences(a, b, 50, 30), want)


def test_allan_and_time_deviation_agree_with_allantools():
    rng = np.random.default_rng(11)
    tau0 = 1e-3
    x = np.cumsum(rng.normal(0, 1e-11, 4096)) + rng.normal(0, 3e-11, 4096)     # random walk plus white
    for ours, theirs in ((adev, allantools.oadev), (mdev, allantools.mdev), (tdev, allantools.tdev)):
        taus, dev = ours(x, tau0, [1, 2, 4, 16, 64, 256])
        t2, d2, _, _ = theirs(x, rate=1 / tau0, data_type="phase", taus=taus)
        np.testing.assert_allclose(t2, taus)
        np.testing.assert_allclose(dev, d2, rtol=1e-9)


def test_white_phase_noise_has_the_textbook_deviations():
    rng = np.random.default_rng(5)
    sigma, tau0 = 10e-12, 1.0
    x = rng.normal(0, sigma, 200_000)
    taus, a = adev(x, tau0, [1])
    assert a[0] == pytest.approx(np.sqrt(3) * sigma / tau0, rel=0.02)     # ADEV(tau0) = sqrt(3) sigma / tau0
    taus, t = tdev(x, tau0, [16])
    assert t[0] == pytest.approx(sigma / np.sqrt(16), rel=0.05)          # white PM: TDEV = sigma / sqrt(m)


def test_phase_from_the_timestamps_of_a_periodic_signal():
    ideal = np.arange(100) * 1_000_000 + 17
    wobble = np.tile([0, 40, -40, 0], 25)
    x = phase_from_timestamps(ideal + wobble, period_ps=1_000_000)
    np.testing.assert_allclose(x, wobble * 1e-12)


def test_herald_statistics_against_a_count():
    outcomes = [Outcome.FAIL, Outcome.PSI_PLUS, Outcome.REJECT, Outcome.PSI_MINUS, Outcome.PSI_PLUS]
    records = [Herald(1000 * i, 10 + 3 * i, int(o), i == 2, 1 << (i % 2), {i % 2: 100 + i}) for i, o in
               enumerate(outcomes)]
    stats = herald_statistics(records)
    assert stats.attempts == 13 and stats.recorded == 5
    assert stats.counts == {"fail": 1, "psi_plus": 2, "psi_minus": 1, "reject": 1}
    assert stats.success_probability == pytest.approx(3 / 13)
    assert stats.success_error == pytest.approx(np.sqrt(3 / 13 * 10 / 13 / 13))
    assert stats.multi_clicks == 1 and list(stats.attempts_between_successes) == [6, 3]
    assert stats.psi_minus_fraction == pytest.approx(1 / 3)
    np.testing.assert_array_equal(stats.click_times_ps[0], [100, 102, 104])
    assert herald_statistics(records, attempts=100).success_probability == pytest.approx(0.03)
