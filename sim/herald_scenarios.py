"""Herald unit scenarios and their scoring, shared by the Amaranth tests
(gateware/herald/test_unit.py) and the cocotb testbench (sim/tb/herald_tb.py):
what to drive, and what the reference model says must come out."""

from qnu.herald import Outcome, MAX_DETECTORS, scheme_table
from .herald_model import HeraldModel, HeraldSettings, clicks_from_events
from .model import ChannelSettings, Waveform, expected_events
from .sequencer_model import words

__all__ = ["CHANNELS", "OUTPUTS", "SUCCESS_OUT", "STATE_OUT", "WIDTH", "random_scenario", "expected", "score",
           "pulses", "Scenario"]

CHANNELS, OUTPUTS = 4, 2
SUCCESS_OUT, STATE_OUT, WIDTH = 0, 1, 3


class Scenario:
    def __init__(self, n, settings, waveforms, channel_settings, loop_starts=(), cycles=100):
        self.n, self.settings, self.waveforms = n, settings, waveforms
        self.channel_settings, self.loop_starts, self.cycles = channel_settings, tuple(loop_starts), cycles

    def word(self, channel, cycle, levels):
        n = self.n
        return sum(int(levels[channel][cycle * n + i]) << i for i in range(n)) if channel in levels else 0

    def levels(self):
        return {c: wf.levels(range(self.cycles * self.n)) for c, wf in self.waveforms.items()}

    def planned(self, lead_cycles):
        """cycle -> the attempt's sample offset, for the loop's ``attempt`` input (planned ``lead_cycles`` ahead)."""
        return {s // self.n - lead_cycles: s % self.n for s in self.loop_starts}


def pulses(ticks, width=2):
    return Waveform.from_pulses(ticks, [width] * len(ticks))


def random_scenario(rng, n, scheme, reference, *, reference_channel=3, channels=CHANNELS):
    """Random clicks on detectors 0 and 1 under random delays, dead times and edge kinds; the
    attempt loop's starts or pulses on ``reference_channel`` as references."""
    table, nwin = scheme_table(scheme)
    delays = {c: rng.randrange(0, 3 * n) for c in range(channels)}
    chans = {c: ChannelSettings(rising=True, falling=rng.random() < 0.3, delay=delays[c],
                                dead_time=rng.choice([0, n, 2 * n + 1, 5 * n])) for c in range(channels)}
    ref = None if reference == "loop" else reference_channel
    spread = max(delays.values())
    offset = spread + (2 * n if ref is not None else 0) + rng.randrange(0, 8)
    windows = tuple((offset + i * (8 * n + 10), rng.randrange(1, 8 * n)) for i in range(nwin))
    multi = rng.choice(list(Outcome))
    settings = HeraldSettings(n, detectors=(0, 1), windows=windows, table=tuple(table), multi_outcome=multi,
                              reference=ref, delays=delays, record=frozenset(Outcome))
    period = max(3 * n, windows[-1][0] + windows[-1][1] + rng.randrange(-20 * n, 30 * n))
    cycles = 60 + 10 * -(-max(period, n) // n)
    starts = list(range(6 * n + rng.randrange(n), (cycles - 40) * n - 2 * period, max(period, n)))
    waveforms = {c: pulses(sorted(rng.sample(range(4 * n, cycles * n - 30), cycles * n // 12 + 4)),
                           rng.randrange(1, 4)) for c in (0, 1)}
    if ref is not None:
        waveforms[ref] = pulses(starts, 1)
    return Scenario(n, settings, waveforms, chans, starts if ref is None else (), cycles)


def expected(s):
    """The model's decisions (those decided inside the run) and overlap count."""
    tagged = {c: ChannelSettings(True, cs.rising, cs.falling, cs.delay, cs.dead_time)
              for c, cs in s.channel_settings.items()}
    events = expected_events(s.waveforms, tagged, bin_ps=1, samples_per_cycle=s.n, end_tick=s.cycles * s.n)
    if s.settings.reference is None:
        references = sorted(s.loop_starts)
    else:
        references = clicks_from_events(events, [s.settings.reference])[s.settings.reference]
    decisions, overlaps = HeraldModel(s.settings).run(references, clicks_from_events(events, s.settings.detectors))
    return [d for d in decisions if d.decided_word + 2 < s.cycles - 1], overlaps


def score(s, seen):
    """Compare what the unit did (``seen``: decided [(cycle, Outcome)], records, herald words per
    cycle, overlaps, lost) with the model; returns the model's decisions."""
    want, overlaps = expected(s)
    # (the unit's `decided` port, for the counters, says so the cycle after the decision's)
    assert seen["decided"] == [(d.decided_word + 2, d.outcome) for d in want], "decisions differ from the model"
    assert seen["overlaps"] == overlaps, (seen["overlaps"], overlaps)
    recorded = [d for d in want if d.outcome in s.settings.record]
    records = [(d.reference, d.attempt, d.outcome, d.multi, d.pattern,
                {w * MAX_DETECTORS + det: t for (det, w), t in d.clicks.items()}) for d in recorded]
    if not seen["lost"]:
        assert seen["records"] == records, "records differ from the model"
    # the herald lines: a pulse of WIDTH ticks from sample 0 of the word after the decision's
    success = [(d.herald_tick, d.herald_tick + WIDTH) for d in want if d.outcome.success]
    state = [(d.herald_tick, d.herald_tick + WIDTH) for d in want if d.outcome == Outcome.PSI_MINUS]
    firsts = [(c + 1) * s.n for c in range(s.cycles)]
    assert [h[SUCCESS_OUT] for h in seen["herald"]] == words(success, firsts, s.n), "success line differs"
    assert [h[STATE_OUT] for h in seen["herald"]] == words(state, firsts, s.n), "state line differs"
    return want
