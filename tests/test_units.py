from fractions import Fraction

import numpy as np
import pytest

from qnu.units import TickClock


def test_bins_and_centring():
    c = TickClock(100_000_000, 8)
    assert c.bin_ps == 1250
    assert c.to_ps(1) == 625                      # middle of (0, 1250]
    assert list(c.to_ps([2, 10])) == [1875, 11875]
    assert c.to_ticks(1250) == 1 and c.to_ticks(624) == 0 and c.to_ticks(626) == 1


def test_rational_bin_is_exact_for_large_times():
    c = TickClock(48_000_000, 2)                  # 31250/3 ps bins
    assert c.bin_ps == Fraction(31250, 3)
    t = 10 ** 13 + 7
    assert c.to_ps(t) == (2 * t - 1) * 31250 // 6


@pytest.mark.parametrize("n", [0, 3, 32])
def test_rejects_bad_samples_per_cycle(n):
    with pytest.raises(ValueError, match="samples_per_cycle"):
        TickClock(100_000_000, n)


@pytest.mark.parametrize("clock", [TickClock(100_000_000, 4), TickClock(48_000_000, 2), TickClock(50_000_000, 16)])
def test_tick_of_inverts_the_picosecond_conversion(clock):
    ticks = np.array([1, 2, 3, 1000, 123_456_789, 2 ** 40 + 7])
    np.testing.assert_array_equal(clock.tick_of(clock.to_ps(ticks)), ticks)
    assert clock.tick_of(clock.to_ps(1000)) == 1000
