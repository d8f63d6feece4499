"""The sample words a PHY would deliver from a set of sources, as a stream of changes.

:class:`StimulusStream` turns the pulses of :mod:`qnu.sim.sources` into, chunk
by chunk, the cycles at which the ``samples`` word changes and the new word;
between two changes the word is held. It follows the sampling convention of
:mod:`qnu.sim.model`: tick ``s`` is sampled at ``s * bin_ps`` and sees every
transition at or before that instant; cycle ``k`` holds ticks ``k*N .. k*N+N-1``,
channel ``c`` at bits ``c*N ..``, earliest sample in the lowest bit; before
cycle 0 every input is low.

A pulse may straddle chunks, and a pair source may place a partner before the
end of the time generated so far, so only transitions earlier than
``generated - lead`` are final; open pulses and unplaced pulses carry over.

Binary form (what the virtual board's harness reads, all little-endian):
a 16-byte header ``b"QNUSTIM1"``, u32 word_bytes, u32 0; then records of
u64 cycle + ``word_bytes`` bytes of word, cycles strictly increasing, each
meaning "from this cycle on, the samples word is this". A record may repeat
the held word: it tells the reader the stream is final up to that cycle.
At end of file the last word holds forever.
"""

from dataclasses import dataclass
from fractions import Fraction
import struct

import numpy as np

from .model import Waveform, first_samples

__all__ = ["StimulusStream", "Chunk", "HEADER_MAGIC", "header"]

HEADER_MAGIC = b"QNUSTIM1"


def header(word_bytes):
    return HEADER_MAGIC + struct.pack("<II", word_bytes, 0)


@dataclass
class Chunk:
    cycles: np.ndarray      # int64, strictly increasing: where the word changes
    words: np.ndarray       # uint8 [len(cycles), word_bytes], little-endian words
    end_cycle: int          # the stream is final for every cycle before this
    last_word: np.ndarray   # the word held at end_cycle - 1

    def ints(self):
        return [int.from_bytes(w.tobytes(), "little") for w in self.words]


class StimulusStream:
    """Changes of the ``samples`` word driven by ``sources``, one chunk at a time.

    With ``log=True`` it keeps every pulse it generated and every transition
    it made final, per channel (see :meth:`waveforms`), so a reference model
    can be built from exactly what was driven.
    """

    def __init__(self, sources, *, channels, samples_per_cycle, bin_ps, seed=None,
                 chunk_cycles=1 << 15, log=False):
        for src in sources:
            bad = [c for c in src.channels if not 0 <= c < channels]
            if bad:
                raise ValueError(f"{src.kind} source on channel {bad[0]}, but the node has {channels}")
        self.sources = list(sources)
        self.channels, self.n = channels, samples_per_cycle
        self.bin_ps = Fraction(bin_ps)
        self.word_bytes = (channels * samples_per_cycle + 7) // 8
        self.chunk_ps = self.bin_ps * samples_per_cycle * chunk_cycles
        self._rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(sources))]
        self._lead = max((s.lead_ps for s in self.sources), default=0)
        self._chunks = 0
        self._generated = 0                                     # ps
        self._pending = {c: [] for c in range(channels)}        # (starts, ends) not yet final
        self._open = {}                                         # channel -> (start, end) of a high pulse
        self._ticks = {c: np.zeros(0, np.int64) for c in range(channels)}  # unconsumed transition ticks
        self._level0 = dict.fromkeys(range(channels), 0)        # level before those ticks
        self._last_word = np.zeros(self.word_bytes, np.uint8)
        self._announced = -1                                    # last cycle sent in to_bytes
        self.next_cycle = 0
        self.log = log
        self.last_transitions = {}                              # made final by the latest chunk
        self.pulse_log = {c: [] for c in range(channels)}
        self.transition_log = {c: [] for c in range(channels)}

    @property
    def idle(self):
        """True if no source can ever change the word (nothing to stream)."""
        return not self.sources

    def __iter__(self):
        while True:
            yield self.next_chunk()

    def next_chunk(self):
        self._chunks += 1
        t0, t1 = self._generated, int(self._chunks * self.chunk_ps)
        self._generated = t1
        for src, rng in zip(self.sources, self._rngs):
            for ch, (starts, widths) in src.pulses(rng, t0, t1).items():
                self._pending[ch].append((starts, starts + widths))
                if self.log:
                    self.pulse_log[ch].append((starts, widths))
        final = t1 - self._lead
        for ch in range(self.channels):
            new = self.last_transitions[ch] = self._merge(ch, final)
            if self.log:
                self.transition_log[ch].append(new)
            ticks = np.maximum(first_samples(new, self.bin_ps), 0)
            self._ticks[ch] = np.concatenate([self._ticks[ch], ticks])
        # cycles whose every sample instant is before `final`
        last = int(first_samples(final, self.bin_ps)) // self.n - 1
        if last < self.next_cycle:
            return Chunk(np.zeros(0, np.int64), np.zeros((0, self.word_bytes), np.uint8),
                         self.next_cycle, self._last_word)
        chunk = self._words_until(last)
        self._consume(last)
        return chunk

    def _merge(self, ch, final):
        """Transitions (ps) of channel ``ch`` that became final: pulses starting
        before ``final`` merged, as in Waveform.from_pulses, with the open pulse."""
        pend = self._pending[ch]
        starts = np.concatenate([p[0] for p in pend]) if pend else np.zeros(0, np.int64)
        ends = np.concatenate([p[1] for p in pend]) if pend else np.zeros(0, np.int64)
        now = starts < final
        self._pending[ch] = [(starts[~now], ends[~now])] if (~now).any() else []
        order = np.argsort(starts[now], kind="stable")
        s, e = starts[now][order], ends[now][order]
        carried = ch in self._open
        if carried:
            hs, he = self._open.pop(ch)
            s, e = np.concatenate([[hs], s]), np.concatenate([[he], e])
        if len(s) == 0:
            return np.zeros(0, np.int64)
        reach = np.maximum.accumulate(e)
        head = np.concatenate([[True], s[1:] > reach[:-1]])    # a start at an end merges
        g_start = s[head]
        g_end = reach[np.append(np.flatnonzero(head)[1:] - 1, len(s) - 1)]
        if g_end[-1] >= final:      # a later pulse may still extend it
            self._open[ch] = (int(g_start[-1]), int(g_end[-1]))
            g_end = g_end[:-1]
        trans = np.empty(len(g_start) + len(g_end), np.int64)
        trans[0::2], trans[1::2] = g_start, g_end
        return trans[1:] if carried else trans

    def _words_until(self, last):
        n = self.n
        parts = [t // n for t in self._ticks.values()]
        cand = np.unique(np.concatenate(parts + [p + 1 for p in parts]))
        cand = cand[(cand >= self.next_cycle) & (cand <= last)]
        bits = np.zeros((len(cand), self.channels * n), np.uint8)
        instants = cand[:, None] * n + np.arange(n)
        for ch, ticks in self._ticks.items():
            seen = np.searchsorted(ticks, instants, side="right")
            bits[:, ch * n:(ch + 1) * n] = (seen & 1) ^ self._level0[ch]
        words = np.packbits(bits, axis=1, bitorder="little")
        prev = np.vstack([self._last_word[None, :], words[:-1]])
        changed = (words != prev).any(axis=1)
        if len(words):
            self._last_word = words[-1]
        return Chunk(cand[changed], words[changed], last + 1, self._last_word)

    def _consume(self, last):
        # ticks before cycle `last` can no longer start a candidate cycle
        for ch, ticks in self._ticks.items():
            done = int(np.searchsorted(ticks, last * self.n, side="left"))
            self._level0[ch] ^= done & 1
            self._ticks[ch] = ticks[done:]
        self.next_cycle = last + 1

    def to_bytes(self, chunk):
        """The chunk's binary records, ending with one at its last final cycle."""
        cycles, words = chunk.cycles, chunk.words
        last = chunk.end_cycle - 1
        if last > self._announced and (len(cycles) == 0 or cycles[-1] != last):
            cycles = np.append(cycles, last)
            words = np.vstack([words, chunk.last_word[None, :]])
        if len(cycles):
            self._announced = int(cycles[-1])
        rec = np.zeros(len(cycles), [("cycle", "<u8"), ("word", "u1", (self.word_bytes,))])
        rec["cycle"], rec["word"] = cycles, words
        return rec.tobytes()

    def transitions(self, ch):
        """Every transition (ps) of channel ``ch`` made final so far (needs log=True)."""
        parts = self.transition_log[ch]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def waveforms(self):
        """{channel: Waveform} of what was driven so far (needs log=True)."""
        return {c: Waveform(self.transitions(c)) for c in range(self.channels)}
