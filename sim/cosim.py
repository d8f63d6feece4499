"""The link in co-simulation: nodes A and B and the midpoint station, each the
real Node gateware in Verilator on its own pseudo-terminal, exchanging signals
through cables and the link's physics.

Each board runs as a harness process fed its inputs chunk by chunk and
reporting its trigger words (vboard.cpp's ``--outputs-fd``). A chunk is at
most the *lookahead*: the shortest delay from any board's output to any
board's input (a cable, or a laser pulse's way to the station's detectors,
less the earliest a click can come). Within it no board can affect another,
so the boards run a chunk in parallel, then their outputs become the inputs
of chunks to come. The result does not depend on the chunk size below the
lookahead (a test runs two).

The plan (docs/link.md): A's and B's attempt loops start at the same tick and
fire their lasers on output 0; A also fires a sync pulse on output 1, which
a cable as long as A's fibre takes to the station's input 2, its herald
reference. The lasers fire early by their own fibre delays, so the photons
reach the beam splitter together as the window opens. When both lasers of
attempt ``k`` have had their chance to fire, the physics Monte Carlo makes
that attempt's clicks (with each node's actual firing time), and they become
pulses on the station's inputs 0 and 1. The station's success line (output
0) goes back by cables to A's and B's input 0 (their stop input, if asked).
"""

import math
import os
import queue
import struct
import threading
import time
from dataclasses import dataclass

import numpy as np

from qnu.herald import Outcome
from .link import Link, model_outcomes as link_model_outcomes
from .physics.montecarlo import simulate
from .virtual_board import VirtualBoard

__all__ = ["Cosim", "CoBoard", "run_cosim"]

_RECORD = struct.Struct("<QQ")
_DONE = 1 << 63
LASER, SYNC = 0, 1                  # node outputs
HERALD_IN = 0                       # node input: the station's success line
DETECTORS, SYNC_IN = (0, 1), 2      # station inputs
JITTER_CUT = 6
START_MARGIN_TICKS = 400_000        # from reading the time to the first attempt: the loops' programming


class _ChunkFeed:
    """A board's stimulus, as the coordinator makes it (bytes of harness records)."""
    idle = False

    def __init__(self, word_bytes):
        self.word_bytes = word_bytes
        self.chunks = queue.Queue()
        self.lock = threading.Lock()
        self.edge_log = None

    def next_chunk(self):
        chunk = self.chunks.get()
        if chunk is None:
            raise EOFError
        return chunk

    def to_bytes(self, chunk):
        return chunk


class CoBoard:
    """One board of the co-simulation: its harness, its inputs to come, its outputs so far."""

    def __init__(self, name, *, channels, samples_per_cycle, clock_hz, outputs, divisor=8, node=None,
                 probe_file=None):
        self.name, self.channels, self.n = name, channels, samples_per_cycle
        self.word_bytes = (channels * samples_per_cycle + 7) // 8
        self.feed = _ChunkFeed(self.word_bytes)
        self._read_fd, self._write_fd = os.pipe()
        self._reader = None
        self.board = VirtualBoard(backend="verilator", channels=channels, samples_per_cycle=samples_per_cycle,
                                  clock_hz=clock_hz, divisor=divisor, outputs=outputs, feed=self.feed,
                                  outputs_fd=self._write_fd, node=node, probe_file=probe_file)
        self.transitions = []           # (tick, channel, level) not yet sent, kept sorted when sent
        self.level = [0] * channels
        self.word = 0
        self.outputs = []               # (cycle, word) changes reported
        self.done_before = 0
        self._levels = {}               # output -> its level at the end of the words taken
        self._cond = threading.Condition()
        # instruments watching the board (as a live VirtualBoard's): output_listeners hear each
        # change of the trigger outputs' word, input_listeners each chunk's input transitions (ps)
        self.output_listeners, self.input_listeners = [], []
        self.clock, self.samples_per_cycle = self.board.clock, samples_per_cycle
        self.loopbacks = []             # (its cables are the co-simulation's)

    @property
    def path(self):
        return self.board.path

    def watch(self, *, outputs=None, inputs=None):
        """As :meth:`VirtualBoard.watch`: ``outputs(records)`` hears each change of the trigger outputs'
        word as (cycle, word), ``inputs(transitions)`` each chunk's {channel: [ps of each change]}."""
        if outputs:
            self.output_listeners.append(outputs)
        if inputs:
            self.input_listeners.append(inputs)

    def now_ps(self):
        """How far the board has simulated, ps."""
        return self.done_before * self.n * float(self.clock.bin_ps)

    def start(self):
        self.board.start()
        os.close(self._write_fd)
        # the reader owns the pipe's read end from here: it closes it at the harness's end of file
        # (closed here as well, the number could be another pipe's by then: a later run's)
        reader = os.fdopen(self._read_fd, "rb", buffering=0)
        self._reader = threading.Thread(target=self._read_outputs, args=(reader,), name=f"cosim-{self.name}",
                                        daemon=True)
        self._reader.start()

    def close(self):
        self.feed.chunks.put(None)
        self.board.close()
        if self._reader is None:            # (never started: both ends are still ours)
            for fd in (self._read_fd, self._write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        else:
            self._reader.join(timeout=10)

    def _read_outputs(self, reader):
        with reader as f:
            pending = b""
            while True:
                data = f.read(1 << 16)
                if not data:
                    return
                pending += data
                whole = len(pending) // 16 * 16
                records = list(_RECORD.iter_unpack(pending[:whole]))
                pending = pending[whole:]
                words = [r for r in records if not r[0] & _DONE]
                done = [c & ~_DONE for c, _ in records if c & _DONE]
                for listener in self.output_listeners:
                    listener(words)
                with self._cond:
                    self.outputs += words
                    if done:
                        self.done_before = done[-1]
                    self._cond.notify_all()

    def wait(self, cycle, timeout=60):
        with self._cond:
            if not self._cond.wait_for(lambda: self.done_before >= cycle, timeout):
                raise RuntimeError(f"board {self.name} did not reach cycle {cycle}: {self.board.backend.died()}")

    def send(self, first, last, *, provisional=False):
        """Stimulus for cycles first..last (inclusive); the harness then runs every cycle before ``last``.

        ``provisional``: edges may still land in cycle ``last``; its word is sent as known so far and
        sent again by the next call, which starts at ``last`` (the harness takes the later word)."""
        n = self.n
        final_end = (last if provisional else last + 1) * n
        self.transitions.sort()
        cut = 0
        while cut < len(self.transitions) and self.transitions[cut][0] < final_end:
            cut += 1
        now, self.transitions = self.transitions[:cut], self.transitions[cut:]
        if now and now[0][0] < first * n:
            raise RuntimeError(f"board {self.name}: an input edge at tick {now[0][0]} came after its cycle ran "
                               "(the chunk was longer than the lookahead)")
        if self.input_listeners:
            self._tell_inputs(now)
        pending = [e for e in self.transitions if e[0] < (last + 1) * n] if provisional else []
        records = []
        by_cycle = {}
        for t, ch, level in now + pending:
            by_cycle.setdefault(t // n, []).append((t % n, ch, level))
        # (the first cycle too: a word that changed inside the last cycle of the previous chunk holds
        # mixed levels, and the next cycle must show the level it ended at)
        cycles = sorted(set(by_cycle) | {c + 1 for c in by_cycle if c + 1 <= last} | {first})
        for c in cycles:
            if provisional and c == last:           # (its edges stay pending: levels as of its start)
                saved = list(self.level), self.word
            word = 0
            changes = by_cycle.get(c, [])
            for ch in range(self.channels):
                bits = 0
                level = self.level[ch]
                for i in range(n):
                    for pos, cch, lv in changes:
                        if cch == ch and pos == i:
                            level = lv
                    bits |= level << i
                self.level[ch] = level
                word |= bits << ch * n
            if word != self.word or c == last or (provisional and c == first):
                records.append((c, word))
                self.word = word
            if provisional and c == last:
                self.level, self.word = saved
        if not records or records[-1][0] != last:
            records.append((last, self.word))
        body = b"".join(struct.pack("<Q", c) + w.to_bytes(self.word_bytes, "little") for c, w in records)
        self.feed.chunks.put(body)

    def _tell_inputs(self, transitions):
        """The listeners hear each input's changes of level (a transition to the level it has is none)."""
        bin_ps, level, changes = float(self.clock.bin_ps), list(self.level), {}
        for t, ch, lv in transitions:
            if lv != level[ch]:
                level[ch] = lv
                changes.setdefault(ch, []).append(t * bin_ps)
        for listener in self.input_listeners:
            listener(changes)

    def output_edges(self, last, outputs):
        """output -> [(tick, level)] of its transitions in the cycles before ``last`` not yet taken."""
        n = self.n
        with self._cond:
            changes = [(c, w) for c, w in self.outputs if c < last]
            self.outputs = [(c, w) for c, w in self.outputs if c >= last]
        edges = {}
        for output in outputs:
            prev, out = self._levels.get(output, 0), []
            for c, w in changes:
                bits = w >> output * n & ((1 << n) - 1)
                for i in range(n):
                    if (bits >> i & 1) != prev:
                        prev ^= 1
                        out.append((c * n + i, prev))
            self._levels[output] = prev
            edges[output] = out
        return edges


@dataclass
class Cable:
    source: CoBoard
    output: int
    target: CoBoard
    channel: int
    delay: int          # ticks


class Cosim:
    """The three boards, their cables and the physics, run chunk by chunk in a thread."""

    def __init__(self, link, *, chunk_cycles=None, stop_on_herald=False, divisor=8):
        self.link, self.cfg = link, link.config
        c, n, b = self.cfg, link.n, link.bin_ps
        make = lambda name, outputs: CoBoard(name, channels=4, samples_per_cycle=n, clock_hz=c.clock_hz,
                                             outputs=outputs, divisor=divisor)
        self.a, self.b, self.station = make("A", 2), make("B", 2), make("station", 2)
        p = c.physics
        self.delay = {"a": round(p.fibre_a.delay_ps / b), "b": round(p.fibre_b.delay_ps / b)}
        self.cables = [Cable(self.a, SYNC, self.station, SYNC_IN, self.delay["a"]),
                       Cable(self.station, 0, self.a, HERALD_IN, self.delay["a"]),
                       Cable(self.station, 0, self.b, HERALD_IN, self.delay["b"])]
        # the plan, in ticks: the sync at `sync_offset` after each attempt start, the lasers early by their fibres
        window_open = link.physics.arrivals()[0]    # after the reference: the photons arrive as the window opens
        base = {w: self.delay["a"] * b + window_open - getattr(p, f"fibre_{w}").delay_ps for w in "ab"}
        self.sync_offset = max(0, -math.floor(min(base.values()) / b))
        self.laser_offset = {w: round(base[w] / b) + self.sync_offset for w in "ab"}
        self.period = link.period
        # the earliest click of an attempt, after its lasers: photons travel the fibre; dark counts start a
        # window and a dead time before the window
        sigma = max(p.jitter_ps(w) for w in "ab")
        earliest = min(min(getattr(p, f"fibre_{w}").delay_ps for w in "ab") - JITTER_CUT * sigma,
                       self.delay["a"] * b + (link.offsets[0] - 1) * b - p.detector.dead_time_ps - p.window_ps)
        self.photon_lead = math.floor(earliest / b)
        # (a chunk's outputs reach the inputs of the chunk after next at the soonest)
        lookahead = min([cable.delay for cable in self.cables] + [self.photon_lead]) // n - 2
        if lookahead < 1:
            raise ValueError(f"the links are too short to co-simulate: a lookahead of {lookahead} cycles "
                             "(use longer fibres, or the station backend)")
        self.lookahead = lookahead
        self.chunk = min(chunk_cycles or lookahead, lookahead)
        self.stop_on_herald = stop_on_herald
        self.start_tick = None
        self.fired = {"a": {}, "b": {}}             # attempt -> laser tick
        self.generated = 0                          # attempts whose clicks are made
        self.click_ps = {d: [] for d in DETECTORS}
        self.false = []
        self._rng_seed = np.random.SeedSequence(c.seed)
        self._thread = None
        self._stop = threading.Event()
        self.error = None
        self.cycle = 0

    @property
    def boards(self):
        return [self.a, self.b, self.station]

    def named_boards(self):
        """{"A": ..., "B": ..., "STATION": ...}: the names counter wiring gives them."""
        return {board.name.upper(): board for board in self.boards}

    def start(self):
        for board in self.boards:
            board.start()
        self._thread = threading.Thread(target=self._run, name="cosim", daemon=True)
        self._thread.start()

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for board in self.boards:
            board.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the exchange ---------------------------------------------------
    def _run(self):
        try:
            first, done = 0, 0
            while not self._stop.is_set():
                last = first + self.chunk
                for board in self.boards:
                    board.send(first, last)
                for board in self.boards:
                    board.wait(last)
                self._exchange(last)
                done, first = last, last + 1
                self.cycle = done
        except Exception as e:          # the boards' hosts see it as a stalled node; the caller raises it
            self.error = e

    def _exchange(self, last):
        edges = {board.name: board.output_edges(last, (0, 1)) for board in self.boards}
        for cable in self.cables:
            for tick, level in edges[cable.source.name][cable.output]:
                cable.target.transitions.append((tick + cable.delay, cable.channel, level))
        for w, board in (("a", self.a), ("b", self.b)):
            for tick, level in edges[board.name][LASER]:
                if level and self.start_tick is not None:
                    k, offset = divmod(tick - self.start_tick - self.laser_offset[w], self.period)
                    if offset == 0 and 0 <= k < self.cfg.count:
                        self.fired[w][k] = tick
        self._make_attempts(last * self.link.n)

    def clicks_view(self, attempts):
        return _ClicksView(self, attempts)

    def reference(self, k):
        """The station's reference tick of attempt ``k``: the sync edge, after its cable."""
        return self.start_tick + k * self.period + self.sync_offset + self.delay["a"]

    def _make_attempts(self, done_tick):
        """Clicks of the attempts whose lasers have all had their chance to fire before ``done_tick``."""
        if self.start_tick is None:
            return
        ready = (done_tick - 1 - self.start_tick - max(self.laser_offset.values())) // self.period + 1
        ready = min(max(ready, 0), self.cfg.count)
        if ready <= self.generated:
            return
        ks = np.arange(self.generated, ready)
        link, b, p = self.link, self.link.bin_ps, self.cfg.physics
        reference = self.reference(ks)
        fired = {w: np.array([k in self.fired[w] for k in ks]) for w in "ab"}
        # each photon's arrival against the planned one (as the window opens), from its laser's actual tick
        planned = reference * b + link.physics.arrivals()[0]
        shifts = {w: np.where(fired[w], np.array([self.fired[w].get(k, 0) for k in ks]) * b +
                              getattr(p, f"fibre_{w}").delay_ps - planned, 0.0) for w in "ab"}
        clicks = simulate(link.physics, len(ks), seed=self._rng_seed.spawn(1)[0], shifts=shifts, fired=fired)
        t = reference[clicks.attempt] * b + clicks.time_ps
        for d in DETECTORS:
            for start in np.sort(np.rint(t[clicks.detector == d]).astype(np.int64)).tolist():
                self.click_ps[d].append(start)
                self.station.transitions += [(math.ceil(start / b), d, 1),
                                             (math.ceil((start + link.width) / b), d, 0)]
        self.false.extend(clicks.false.tolist())
        self.generated = ready


def run_cosim(config, *, chunk_cycles=None, stop_on_herald=False, progress=None, timeout_s=600):
    """Run the link with all three boards' gateware; (results, outcomes per attempt, the Cosim)."""
    from qnu.host import AttemptPulse, Device, StopReason
    from .link import link_results, station_outcomes
    link = Link(config)
    c, b, n = config, link.bin_ps, link.n
    progress = progress or (lambda attempts: None)
    record = (Outcome.PSI_PLUS, Outcome.PSI_MINUS, Outcome.REJECT)
    co = Cosim(link, chunk_cycles=chunk_cycles, stop_on_herald=stop_on_herald)
    with co, Device(co.a.path, timeout=10) as a, Device(co.b.path, timeout=10) as b_dev, \
            Device(co.station.path, timeout=10) as station:
        tick_ps = lambda ticks: round(ticks * b)
        for d in DETECTORS:         # (not streamed: the herald sees the clicks all the same)
            station.configure(d, enable=False, rising=True, dead_time_ps=tick_ps(n))
        station.configure(SYNC_IN, enable=False, rising=True, dead_time_ps=tick_ps(n))
        late = {"late_window_offset_ps": tick_ps(link.offsets[1])} if len(link.offsets) == 2 else {}
        station.herald.configure(scheme=c.physics.scheme, detectors=DETECTORS, window_ps=tick_ps(link.window),
                                 window_offset_ps=tick_ps(link.offsets[0]), reference=SYNC_IN, success_output=0,
                                 state_output=1, record=record, **late)
        latency = station.herald.latency_cycles
        before = station.herald.counts()
        patterns = {}
        for dev, w in ((a, "a"), (b_dev, "b")):
            dev.configure(HERALD_IN, enable=False, rising=True)
            for output in (LASER, SYNC):
                dev.outputs[output].source = 1      # the attempt loop
            patterns[w] = [AttemptPulse(LASER, tick_ps(co.laser_offset[w]), tick_ps(2))]
        patterns["a"].append(AttemptPulse(SYNC, tick_ps(co.sync_offset), tick_ps(2)))
        # the attempts start a little after the setup (the boards' times are one: they started together)
        co.start_tick = start = -(-(a.read_time() + START_MARGIN_TICKS) // n) * n
        for dev, w in ((a, "a"), (b_dev, "b")):
            dev.attempts.start(period_ps=tick_ps(co.period), count=c.count, pattern=patterns[w],
                               start_ps=tick_ps(start), stop_on=HERALD_IN if stop_on_herald else None)
        for dev in (a, b_dev):
            if dev.attempts.status().reason == StopReason.LATE_START:
                raise RuntimeError("the nodes' attempt loops were programmed too late for their start: "
                                   "raise cosim.START_MARGIN_TICKS")
        started = time.monotonic()
        settled = []

        def finished():
            if co.error is not None or time.monotonic() - started > timeout_s:
                return True
            status = [dev.attempts.status() for dev in (a, b_dev)]
            progress(min(s.attempts for s in status))
            if not any(s.running for s in status) and not settled:
                settled.append(co.cycle)
            return bool(settled) and co.cycle > settled[0] + 2 * co.period // n + 2 * co.lookahead
        try:
            rec = station.record(until=finished, poll_s=0.1)
            counts = {k: v - before[k] for k, v in station.herald.counts().items()}
            node_status = {w: dev.attempts.status() for w, dev in (("a", a), ("b", b_dev))}
        except Exception:
            if co.error is not None:        # a board stalled because the exchange failed: say why
                raise RuntimeError(f"the co-simulation failed: {co.error!r}") from co.error
            raise
    if co.error is not None:
        raise RuntimeError(f"the co-simulation failed: {co.error}") from co.error
    attempts = counts["references"]
    outcomes = station_outcomes(rec, counts)
    clicks = _ClicksView(co, attempts)
    results = link_results(link, "verilator", outcomes, clicks, latency)
    results["attempts"] = attempts
    results["co_simulation"] = {"boards": ["A", "B", "station"], "chunk_cycles": co.chunk,
                                "lookahead_cycles": co.lookahead, "stop_on_herald": stop_on_herald,
                                "stopped": {w: s.reason.name.lower() for w, s in node_status.items()},
                                "node_attempts": {w: s.attempts for w, s in node_status.items()}}
    return results, outcomes, co


class _ClicksView:
    """The co-simulation's clicks as the results and plots take them: each attempt's
    false-herald flag, and each click's attempt, detector and time after its reference."""

    def __init__(self, co, attempts):
        self.false = np.array(co.false[:attempts], dtype=bool)
        b = co.link.bin_ps
        detector = np.concatenate([np.full(len(co.click_ps[d]), d) for d in DETECTORS]).astype(np.int64)
        t = np.concatenate([np.asarray(co.click_ps[d], dtype=float) for d in DETECTORS])
        first = co.reference(0) * b
        self.attempt = np.floor((t - first + co.period * b / 2) / (co.period * b)).astype(np.int64)
        self.detector = detector
        self.time_ps = t - co.reference(self.attempt) * b


def model_outcomes(co, attempts):
    """The herald model's outcomes for the co-simulation's clicks and references (the station's view)."""
    link = co.link
    return link_model_outcomes(link.settings(reference=SYNC_IN), co.click_ps, link.width, link.bin_ps,
                               [co.reference(k) for k in range(attempts)])
