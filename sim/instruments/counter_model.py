"""A behavioural Keysight 53230A universal counter watching virtual boards.

Its two inputs are wired to signals of one or more live virtual boards
(``--counter 1:OUT0,2:IN3``: input 1 sees trigger output 0, input 2 sees
tagger input 3: its sources' stimulus and the outputs cabled to it; with
several boards, ``1:A.OUT0,2:B.OUT0``). It
answers the commands :class:`qnu.host.instruments.Keysight53230A` sends:

- ``CONF:TINT (@1),(@2)``: each reading is the time from an edge on input 1
  to the next edge on input 2 (each of its ``INPn:SLOP``), at or after it;
  the next reading starts after that start edge. Only positive intervals,
  as the instrument: a stop edge just before the start gives nearly a period;
- ``CONF:FREQ (@n)``: each reading is the mean frequency over 10 periods;
- ``MEAS:ARR:TST? N,(@n)``: the times of the next N edges, s from the first;
- ``SAMP:COUN``, ``READ?``, ``CALC:AVER:STAT``/``ALL?``/``CLE``,
  ``INPn:LEV``/``SLOP``/``IMP``/``COUP``, ``SYST:ERR?``, ``*IDN?``.

Readings take edges from the simulated time the command arrives at (the
furthest the watched boards have simulated) on, and wait for the simulation
to produce them; a single-shot Gaussian error of ``noise_ps`` RMS (20 ps, the
53230A's specified time-interval resolution) is added to each reading.
Signals are digital: levels, impedance and coupling are kept, not applied.
"""

from dataclasses import dataclass
import re
import threading
import time

import numpy as np

__all__ = ["CounterModel", "CounterWire", "parse_counter_wiring", "IDENTITY"]

IDENTITY = "Keysight Technologies,53230A,MY50004242,02.05-1519.666-1.19-4.15-127-155-35"
GATE_PERIODS = 10
QUEUE_DEPTH = 20
STALE = '-230,"Data corrupt or stale"'
OUT_OF_RANGE = '-222,"Data out of range"'
UNDEFINED_HEADER = '-113,"Undefined header"'


@dataclass(frozen=True)
class CounterWire:
    input: int              # the counter's input, 1 or 2
    board: str              # the board's name ("" for the only one)
    kind: str               # "OUT" (a trigger output) or "IN" (a tagger input's stimulus)
    index: int


def parse_counter_wiring(text, boards=("",)):
    """``1:OUT0,2:IN3`` or ``1:A.OUT0,2:B.OUT0`` -> CounterWires."""
    wires = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        m = re.fullmatch(r"([12]):(?:([A-Za-z]\w*)\.)?(OUT|IN)(\d+)", item, re.IGNORECASE)
        if not m:
            raise ValueError(f"a counter wire is INPUT:[BOARD.]OUTk or INk, e.g. 1:OUT0, 2:IN3 or 1:A.OUT0, not "
                             f"{item!r}")
        board = (m[2] or "").upper()
        if board not in boards:
            raise ValueError(f"counter wire {item!r}: no board {board or '(unnamed)'}; boards: "
                             f"{', '.join(b or '(unnamed)' for b in boards)}")
        wires.append(CounterWire(int(m[1]), board, m[3].upper(), int(m[4])))
    if sorted(w.input for w in wires) not in ([1], [2], [1, 2]):
        raise ValueError(f"each counter input (1, 2) is wired once: {text!r}")
    return wires


class _Edges:
    """One signal's edges, (ps, rising), in time order."""

    def __init__(self):
        self.times, self.rising = [], []

    def add(self, t, rising):
        self.times.append(t)
        self.rising.append(rising)


class CounterModel:
    def __init__(self, wiring, *, noise_ps=20, seed=None, read_timeout_s=60.0):
        self.wiring = list(wiring)
        self.noise_ps, self.read_timeout_s = noise_ps, read_timeout_s
        self.rng = np.random.default_rng(seed)
        self._cond = threading.Condition()
        self._signals = {w.input: _Edges() for w in self.wiring}
        self._boards = {}
        self._follow = None
        self.errors = []
        self.reset()

    def reset(self):
        self.function = ("TINT", 1)
        self.sample_count = 1
        self.statistics = 0
        self.readings_kept = []
        self.inputs = {ch: dict(level=0.0, slope="POS", impedance=1e6, coupling="DC") for ch in (1, 2)}

    # --- watching the boards -----------------------------------------------------------

    def attach(self, boards):
        """Watch the live boards ``{name: VirtualBoard}`` (started) that the wiring names."""
        self._boards = dict(boards)
        for wire in self.wiring:
            board = self._boards[wire.board]
            edges = self._signals[wire.input]
            if wire.kind == "OUT":
                board.watch(outputs=self._output_watcher(wire.index, board, edges))
            else:
                board.watch(inputs=self._input_watcher(wire.index, edges))
                for cable in board.loopbacks:           # (an input also sees the outputs cabled to it)
                    if cable.channel == wire.index:
                        delay = board.clock.to_ticks(cable.delay_ps) * float(board.clock.bin_ps)
                        board.watch(outputs=self._output_watcher(cable.output, board, edges, delay))

    def _output_watcher(self, output, board, edges, delay_ps=0.0):
        n, bin_ps = board.samples_per_cycle, float(board.clock.bin_ps)
        state = {"level": 0, "last": None}          # the pending (cycle, bits) whose hold ends at the next

        def emit(cycle, bits, until):
            for c in range(cycle, until):
                for i in range(n):
                    level = bits >> i & 1
                    if level != state["level"]:
                        edges.add((c * n + i) * bin_ps + delay_ps, bool(level))
                        state["level"] = level
                if bits in (0, (1 << n) - 1):           # a steady word: nothing more until the next
                    return

        def watcher(records):
            with self._cond:
                for cycle, word in records:
                    bits = word >> (output * n) & ((1 << n) - 1)
                    if state["last"] is not None:
                        emit(*state["last"], cycle)
                    state["last"] = (cycle, bits)
                if state["last"] is not None:           # (its first cycle's edges can go now)
                    c, bits = state["last"]
                    emit(c, bits, c + 1)
                    state["last"] = (c + 1, bits)
                self._cond.notify_all()
        return watcher

    def _input_watcher(self, channel, edges):
        state = {"level": 0}

        def watcher(transitions):
            with self._cond:
                for t in transitions.get(channel, ()):
                    state["level"] ^= 1
                    edges.add(float(t), bool(state["level"]))
                self._cond.notify_all()
        return watcher

    def follow(self, now_ps):
        """Watch a co-simulation that keeps its own physical time (the sync co-simulation):
        ``now_ps()`` is how far it has run, and it brings each input's edges by :meth:`add_edges`."""
        self._follow = now_ps

    def add_edges(self, input, edges):
        """Edges ``[(ps, rising), ...]`` on counter input ``input`` (1 or 2), in time order."""
        with self._cond:
            signal = self._signals.setdefault(input, _Edges())
            for t, rising in edges:
                signal.add(float(t), bool(rising))
            self._cond.notify_all()

    def _now_ps(self):
        if self._follow is not None:
            return self._follow()
        return max((b.now_ps() for b in self._boards.values()), default=0.0)

    # --- commands ------------------------------------------------------------------

    def handle(self, command):
        with self._cond:
            answer = self._dispatch(command.strip().upper())
            if answer is False:
                self._error(UNDEFINED_HEADER)
                return None
            return answer

    def _error(self, text):
        if len(self.errors) < QUEUE_DEPTH:
            self.errors.append(text)

    def _dispatch(self, cmd):
        if cmd == "*IDN?":
            return IDENTITY
        if cmd == "*CLS":
            self.errors.clear()
            return None
        if cmd == "*RST":
            self.reset()
            return None
        if cmd == "SYST:ERR?":
            return self.errors.pop(0) if self.errors else '+0,"No error"'
        if cmd == "CONF:TINT (@1),(@2)":
            self.function = ("TINT", 1)
            return None
        m = re.fullmatch(r"CONF:FREQ \(@([12])\)", cmd)
        if m:
            self.function = ("FREQ", int(m[1]))
            return None
        m = re.fullmatch(r"INP([12]):(LEV|SLOP|IMP|COUP)(\?)?(?: (\S+))?", cmd)
        if m:
            return self._input_setting(int(m[1]), m[2], m[3], m[4])
        m = re.fullmatch(r"SAMP:COUN(\?)?(?: (\S+))?", cmd)
        if m:
            if m[1]:
                return f"{self.sample_count:+d}"
            return self._number("sample_count", m[2], 1, 1_000_000, int)
        m = re.fullmatch(r"CALC:AVER:STAT(\?)?(?: (\S+))?", cmd)
        if m:
            if m[1]:
                return str(self.statistics)
            return self._number("statistics", m[2], 0, 1, int)
        if cmd == "CALC:AVER:CLE":
            self.readings_kept = []
            return None
        if cmd == "CALC:AVER:ALL?":
            r = np.array(self.readings_kept or [np.nan])
            return ",".join(f"{v:+.12E}" for v in (r.mean(), r.std(ddof=1) if len(r) > 1 else 0.0, r.min(), r.max()))
        if cmd == "READ?":
            return self._read(self.sample_count)
        m = re.fullmatch(r"MEAS:ARR:TST\? (\d+),\(@([12])\)", cmd)
        if m:
            return self._timestamps(int(m[1]), int(m[2]))
        return False

    def _number(self, attr, text, low, high, cast):
        try:
            value = cast(float(text))
        except (TypeError, ValueError):
            self._error('-128,"Numeric data not allowed"')
            return None
        if not low <= value <= high:
            self._error(OUT_OF_RANGE)
            return None
        setattr(self, attr, value)

    def _input_setting(self, ch, name, query, value):
        key = {"LEV": "level", "SLOP": "slope", "IMP": "impedance", "COUP": "coupling"}[name]
        if query:
            v = self.inputs[ch][key]
            return f"{v:+.6E}" if isinstance(v, float) else v
        allowed = {"SLOP": ("POS", "NEG"), "COUP": ("AC", "DC")}.get(name)
        if allowed:
            if value not in allowed:
                self._error(OUT_OF_RANGE)
                return None
            self.inputs[ch][key] = value
            return None
        try:
            v = float(value)
        except (TypeError, ValueError):
            self._error('-128,"Numeric data not allowed"')
            return None
        if name == "LEV" and not -5 <= v <= 5 or name == "IMP" and v not in (50.0, 1e6):
            self._error(OUT_OF_RANGE)
            return None
        self.inputs[ch][key] = v

    # --- readings --------------------------------------------------------------------

    def _edge_times(self, ch, after_ps):
        """The input's edges of its slope at or after ``after_ps`` (ps), in order."""
        sig = self._signals.get(ch)
        if sig is None:
            return np.zeros(0)
        times = np.asarray(sig.times)
        rising = np.asarray(sig.rising, dtype=bool)
        order = np.argsort(times, kind="stable")       # (an input's stimulus and its cables arrive apart)
        times, rising = times[order], rising[order]
        want = rising if self.inputs[ch]["slope"] == "POS" else ~rising
        t = times[want] if len(times) else times
        return t[t >= after_ps]

    def _wait_for(self, compute):
        """Wait (releasing the lock) until ``compute()`` gives readings, or time out (None)."""
        deadline = time.monotonic() + self.read_timeout_s
        while True:
            result = compute()
            if result is not None:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                self._error(STALE)
                return None
            self._cond.wait(min(left, 0.5))

    def _read(self, count):
        armed = self._now_ps()
        kind, ch = self.function
        if kind == "TINT":
            compute = lambda: self._intervals(armed, count)
        else:
            compute = lambda: self._frequencies(armed, count, ch)
        values = self._wait_for(compute)
        if values is None:
            return None
        if self.statistics:
            self.readings_kept += list(values)
        return ",".join(f"{v:+.12E}" for v in values)

    def _noise_s(self, count):
        return self.rng.normal(0.0, self.noise_ps, count) * 1e-12 if self.noise_ps else np.zeros(count)

    def _intervals(self, armed, count):
        starts = self._edge_times(1, armed)
        stops = self._edge_times(2, armed)
        out, after = [], armed
        for start in starts:
            if start < after:
                continue
            i = np.searchsorted(stops, start, side="left")
            if i >= len(stops):
                return None
            out.append((stops[i] - start) * 1e-12)
            after = start + 1
            if len(out) == count:
                return list(np.array(out) + self._noise_s(count))
        return None

    def _frequencies(self, armed, count, ch):
        t = self._edge_times(ch, armed)
        needed = count * GATE_PERIODS + 1
        if len(t) < needed:
            return None
        gates = t[:needed:GATE_PERIODS]
        return list(GATE_PERIODS / (np.diff(gates) * 1e-12))

    def _timestamps(self, count, ch):
        armed = self._now_ps()

        def compute():
            t = self._edge_times(ch, armed)
            return list((t[:count] - t[0]) * 1e-12 + self._noise_s(count)) if len(t) >= count else None
        values = self._wait_for(compute)
        return None if values is None else ",".join(f"{v:+.12E}" for v in values)
