import json
from fractions import Fraction

import numpy as np
import pytest

from qnu.sim.model import Waveform
from qnu.sim.sources import Pair, Periodic, Poisson, load_config, parse_rate, parse_source, parse_time
from qnu.sim.stimulus import word_stream
from qnu.sim.stream import StimulusStream, header


def test_units():
    assert parse_time("12.5ns") == 12_500 and parse_time("300ps") == 300 and parse_time(42) == 42
    assert parse_time("1us") == 10 ** 6 and parse_time("-2ns") == -2000
    assert parse_rate("1e6") == 1e6 and parse_rate("2.5MHz") == 2.5e6 and parse_rate("20") == 20
    for bad in ("12 parsecs", "ns", "1..2ns"):
        with pytest.raises(ValueError, match="bad time"):
            parse_time(bad)


def test_parse_source():
    src = parse_source("2,3:pair:rate=5e5,delay=12.5ns,jitter=300ps,efficiency=0.4,noise=1kHz")
    assert src == Pair((2, 3), rate=5e5, delay=12_500, jitter=300, efficiency=0.4, noise=1e3)
    assert parse_source("0:poisson:rate=1e6") == Poisson((0,), rate=1e6)
    assert parse_source("1:dark:rate=20") == Poisson((1,), rate=20.0)
    assert parse_source("0:periodic:period=1us,phase=3ns,width=2ns") == \
        Periodic((0,), period=10 ** 6, phase=3000, width=2000)
    for bad, message in [("0:laser:rate=1", "unknown source kind"), ("0:poisson:period=1ns", "no parameter"),
                         ("0,1:poisson", "takes 1 channel"), ("x:poisson", "channels must be integers"),
                         ("0:pair:rate=1", "takes 2 channel"), ("0", "expected CHANNELS:KIND"),
                         ("0,1:pair:efficiency=2", "between 0 and 1")]:
        with pytest.raises(ValueError, match=message):
            parse_source(bad)


def test_config_files(tmp_path):
    (tmp_path / "s.toml").write_text('seed = 5\n[[source]]\nchannels = [2, 3]\nkind = "pair"\n'
                                     'rate = 5e5\ndelay = "12.5ns"\n[[source]]\nchannels = 0\n'
                                     'kind = "periodic"\nperiod = "1us"\n')
    sources, seed = load_config(tmp_path / "s.toml")
    assert seed == 5 and sources == [Pair((2, 3), rate=5e5, delay=12_500), Periodic((0,), period=10 ** 6)]
    (tmp_path / "s.json").write_text(json.dumps({"sources": [{"channels": [1], "kind": "dark", "rate": 30}]}))
    assert load_config(tmp_path / "s.json") == ([Poisson((1,), rate=30.0)], None)
    (tmp_path / "bad.json").write_text(json.dumps({"sources": [{"channels": [1], "rate": 30}]}))
    with pytest.raises(ValueError, match="'kind'"):
        load_config(tmp_path / "bad.json")


def run_stream(sources, *, channels, n, bin_ps, chunks, chunk_cycles, seed=0):
    stream = StimulusStream(sources, channels=channels, samples_per_cycle=n, bin_ps=bin_ps,
                            seed=seed, chunk_cycles=chunk_cycles, log=True)
    got = [stream.next_chunk() for _ in range(chunks)]
    return stream, got


def held_words(chunks, cycles, word_bytes):
    """Per-cycle words from the change stream (a word holds until the next change)."""
    out, word, changes = [], 0, {}
    for ch in chunks:
        changes.update(zip(ch.cycles.tolist(), ch.ints()))
    for k in range(cycles):
        word = changes.get(k, word)
        out.append(word)
    return out, changes


def random_sources(rng, channels, bin_ps):
    bin_ps = float(bin_ps)
    return [
        Poisson((0,), rate=float(rng.uniform(2e6, 6e7)), width=int(rng.integers(1, 8 * bin_ps))),
        Periodic((1,), period=int(rng.integers(3 * bin_ps, 40 * bin_ps)), phase=int(rng.integers(-500, 5000)),
                 width=int(rng.integers(1, 10 * bin_ps))),
        Pair((2, 3), rate=float(rng.uniform(1e6, 3e7)), delay=int(rng.integers(-30 * bin_ps, 30 * bin_ps)),
             jitter=int(rng.integers(0, 4 * bin_ps)), efficiency=float(rng.uniform(0.3, 1)),
             noise=float(rng.uniform(0, 1e7)), width=int(rng.integers(1, 6 * bin_ps))),
        Poisson((channels - 1,), rate=3e7, width=int(bin_ps) + 1),      # a second source on a channel
        # pulses that touch (one ends where the next starts) merge into one, and
        # some pulses straddle chunk boundaries
        Periodic((channels - 2,), period=(p := int(rng.integers(2 * bin_ps, 30 * bin_ps))), width=p,
                 phase=int(rng.integers(0, 10 ** 6))),
    ]


@pytest.mark.parametrize("seed", range(8))
def test_stream_matches_word_stream(seed):
    rng = np.random.default_rng(seed)
    n = [1, 2, 4, 8][seed % 4]
    channels = 4 + seed % 3
    bin_ps = Fraction(10 ** 12, 100_000_000 * n) if seed % 2 else Fraction(1000, 3)
    stream, chunks = run_stream(random_sources(rng, channels, bin_ps), channels=channels, n=n, bin_ps=bin_ps,
                                chunks=12, chunk_cycles=int(rng.integers(3, 200)), seed=seed)
    end = chunks[-1].end_cycle
    assert end > 100 and [c.end_cycle for c in chunks] == sorted(c.end_cycle for c in chunks)
    # the driven transitions are exactly the logged pulses, merged as Waveform.from_pulses does
    final = stream._generated - stream._lead
    for ch in range(channels):
        pulses = stream.pulse_log[ch]
        starts = np.concatenate([p[0] for p in pulses]) if pulses else np.zeros(0, np.int64)
        widths = np.concatenate([p[1] for p in pulses]) if pulses else np.zeros(0, np.int64)
        whole = Waveform.from_pulses(starts, widths).transitions
        assert stream.transitions(ch).tolist() == whole[whole < final].tolist()
    # the held words are word_stream's, and a record is emitted exactly where the word changes
    expected = word_stream(stream.waveforms(), channels, bin_ps=bin_ps, samples_per_cycle=n,
                           first_tick=0, cycles=end)
    got, changes = held_words(chunks, end, stream.word_bytes)
    assert got == expected
    assert sorted(changes) == [k for k in range(end) if expected[k] != (expected[k - 1] if k else 0)]
    assert len(changes) > 20


def test_periodic_stream_does_not_depend_on_chunk_size():
    sources = [Periodic((0,), period=7_777, phase=1234, width=3000),
               Periodic((2,), period=Fraction(10 ** 6, 3), width=200_000)]
    runs = []
    for chunk_cycles in (1, 7, 1000):
        _, chunks = run_stream(sources, channels=3, n=4, bin_ps=2500, chunks=3000 // chunk_cycles + 2,
                               chunk_cycles=chunk_cycles)
        runs.append(held_words(chunks, 3000, 2)[0])
    assert runs[0] == runs[1] == runs[2] and len(set(runs[0])) > 3


def test_a_pulse_ending_at_a_chunk_boundary_merges_with_the_next():
    # chunks of one cycle (10 ns) and pulses of 10 ns every 10 ns, each ending where a
    # chunk ends and the next pulse starts: one long pulse
    stream, chunks = run_stream([Periodic((0,), period=10_000, width=10_000)], channels=1, n=4,
                                bin_ps=2500, chunks=20, chunk_cycles=1)
    assert stream.transitions(0).tolist() == [0]
    assert held_words(chunks, 19, 1)[1] == {0: 0b1111}


def test_binary_records():
    stream = StimulusStream([Poisson((1,), rate=2e7, width=4000)], channels=4, samples_per_cycle=4,
                            bin_ps=2500, seed=3, chunk_cycles=500)
    assert header(stream.word_bytes) == b"QNUSTIM1\x02\x00\x00\x00\x00\x00\x00\x00"
    data = b"".join(stream.to_bytes(stream.next_chunk()) for _ in range(5))
    rec = np.frombuffer(data, [("cycle", "<u8"), ("word", "u1", (2,))])
    assert (np.diff(rec["cycle"].astype(np.int64)) > 0).all()
    assert rec["cycle"][-1] == stream.next_cycle - 1        # final up to here: a horizon record
    words = [int.from_bytes(w.tobytes(), "little") for w in rec["word"]]
    assert all(w & ~0xF0 == 0 for w in words) and len(set(words)) > 2   # only channel 1's bits


def test_source_on_a_missing_channel():
    with pytest.raises(ValueError, match="channel 4, but the node has 4"):
        StimulusStream([Poisson((4,))], channels=4, samples_per_cycle=4, bin_ps=2500)
