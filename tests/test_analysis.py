import pytest

from qnu.analysis import count_rates, coincidences


def test_count_rates():
    rates = count_rates([0, 0, 2, 2, 2], duration_ps=10 ** 6, n_channels=4)
    assert list(rates) == [2e6, 0, 3e6, 0]
    with pytest.raises(ValueError):
        count_rates([0], 0)


def test_coincidences_count_each_a_once():
    a = [100, 1000, 5000]
    b = [110, 990, 1005, 9000]
    assert coincidences(a, b, 20) == 2
    assert coincidences(a, [], 20) == 0
