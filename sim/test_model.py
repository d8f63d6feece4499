"""The reference model on cases worked out by hand."""

from fractions import Fraction


from qnu.sim.model import ChannelSettings, Event, Waveform, expected_events, sampled_edges, RISING, FALLING
from qnu.sim.stimulus import word_stream


def test_edge_is_stamped_by_the_first_sample_that_sees_it():
    # bins of 1000 ps: an edge at 1000 ps is seen by sample 1, at 1001 ps by sample 2
    wf = Waveform([1000, 5000, 7001, 9000])
    assert sampled_edges(wf, 1000) == [(1, RISING), (5, FALLING), (8, RISING), (9, FALLING)]


def test_glitch_between_samples_is_invisible_and_one_inside_a_sample_is_seen():
    wf = Waveform([1100, 1900, 3900, 4100])     # 1100-1900 holds no sample; 3900-4100 holds 4000
    assert sampled_edges(wf, 1000) == [(4, RISING), (5, FALLING)]


def test_overlapping_pulses_merge():
    wf = Waveform.from_pulses([0, 500, 3000], [1000, 1000, 10])
    assert list(wf.transitions) == [0, 1500, 3000, 3010]


def test_rational_bin():
    # 48 MHz, 2 samples: bins of 31250/3 ps; sample 3 is at 31250 ps exactly
    wf = Waveform([31250, 31251 + 31250 // 3])
    assert sampled_edges(wf, Fraction(31250, 3)) == [(3, RISING), (5, FALLING)]


def test_dead_time_delay_and_order():
    wf0 = Waveform.from_pulses([1000, 2000, 9000], [300, 300, 300])   # rising at 1, 2, 9
    wf1 = Waveform.from_pulses([4000], [2000])                          # rising 4, falling 6
    settings = {0: ChannelSettings(dead_time=3),
                1: ChannelSettings(rising=False, falling=True, delay=3)}
    got = expected_events({0: wf0, 1: wf1}, settings, bin_ps=1000, samples_per_cycle=2)
    # channel 0: 2 is within 3 ticks of 1; channel 1: falling 6 + 3 = 9 ties with channel 0's 9
    assert got == [Event(1, 0, RISING), Event(9, 0, RISING), Event(9, 1, FALLING)]


def test_dead_time_is_at_least_one_cycle():
    wf = Waveform.from_pulses([1000, 3000, 5000], [1000, 1000, 1000])   # edges at 1, 2, 3, 4, 5, 6
    got = expected_events({0: wf}, {0: ChannelSettings(rising=True, falling=True, dead_time=1)},
                          bin_ps=1000, samples_per_cycle=4)
    assert [(e.timestamp, e.kind) for e in got] == [(1, RISING), (5, RISING)]


def test_words_put_sample_zero_in_bit_zero():
    wf = Waveform([2000, 5000])         # high for samples 2, 3, 4
    words = word_stream({1: wf}, 2, bin_ps=1000, samples_per_cycle=4, first_tick=0, cycles=2)
    assert words == [0b1100 << 4, 0b0001 << 4]
