"""A behavioural SRS DG645: its remote commands, and its outputs as a source for the virtual board.

The model answers the commands of the DG645 manual that
:class:`qnu.host.instruments.DG645` uses (``DLAY``, ``TSRC``, ``TRAT``,
``TLVL``, ``BURM``/``BURC``/``BURP``/``BURD``, ``LAMP``/``LOFF``/``LPOL``,
``*TRG``, ``*IDN?``, ``*CLS``, ``*RST``, ``LERR?``), with the manual's error
codes in a 20-deep queue. As a :mod:`qnu.sim.sources` source it drives tagger
inputs, each wired to an output:

- a channel (``T0``, ``A`` ... ``H``, as on the rear-panel outputs of the
  DG645's eight-channel option): a pulse of ``width_ps`` at the channel's delay;
- a front-panel pair (``AB``, ``CD``, ``EF``, ``GH``): high from the first
  channel's delay to the second's.

Each output's edge has Gaussian jitter (``jitter_ps`` RMS, cut at 6 sigma;
the DG645 specifies under 25 ps RMS) and its cable's delay. An output whose
high level (amplitude + offset, positive polarity) stays under the input's
threshold (1.5 V, LVCMOS) drives nothing. Triggers: internal at ``TRAT``
from simulated time 0; single shot on ``*TRG`` (at the start of the next
stretch of simulated time the board generates); bursts of ``BURC`` pulses
``BURP`` apart, ``BURD`` after each trigger. External and line triggers have
no signal in the simulation: they fire nothing.
"""

from dataclasses import dataclass
from fractions import Fraction
import threading

import numpy as np

from qnu.manuals import (DG645_DELAY_CHANNELS as DELAY_CHANNELS, DG645_OUTPUTS as OUTPUTS,
                         DG645_MAX_DELAY_S as MAX_DELAY_S)
from ..sources import JITTER_CUT
from ..wiring import parse_wires

__all__ = ["DG645Model", "Wire", "parse_wiring", "IDENTITY", "INPUT_THRESHOLD_V"]

IDENTITY = "Stanford Research Systems,DG645,s/n004242,ver1.00.10E"
INPUT_THRESHOLD_V = 1.5
DELAY_RESOLUTION_PS = 5
QUEUE_DEPTH = 20
SINGLE_SHOT_SPACING_PS = 1_000_000     # queued *TRGs fire this far apart
PAIRS = {"AB": ("A", "B"), "CD": ("C", "D"), "EF": ("E", "F"), "GH": ("G", "H")}
_WIREABLE = (set(DELAY_CHANNELS) - {"T1"}) | set(PAIRS)
_PAIR_OUTPUT = {"T0": "T0", **{c: p for p, (a, b) in PAIRS.items() for c in (a, b)}}

ILLEGAL_VALUE, ILLEGAL_MODE, ILLEGAL_DELAY, ILLEGAL_LINK = 10, 11, 12, 13
UNDEFINED_COMMAND, MISSING_PARAMETERS, EXTRA_PARAMETERS = 111, 116, 115


@dataclass(frozen=True)
class Wire:
    """Output ``output`` (a channel or pair name) cabled to tagger input ``channel``, ``cable_ps`` long."""
    output: str
    channel: int
    cable_ps: int = 0


def parse_wiring(text):
    """``A:0,B:1:12.5ns`` -> Wires (OUTPUT:INPUT[:CABLE], comma separated)."""
    def output(name):
        if name.upper() not in _WIREABLE:
            raise ValueError(f"the DG645 has no output {name!r}: T0, A ... H, or AB, CD, EF, GH")
        return name.upper()
    wires = [Wire(*w) for w in parse_wires(text, what="a DG645 wire", example="A:0 or AB:2:5ns", output=output,
                                          none="no DG645 outputs wired")]
    if len({w.channel for w in wires}) != len(wires):
        raise ValueError(f"two DG645 outputs wired to one input: {text!r}")
    return wires


class _Refused(Exception):
    def __init__(self, code):
        self.code = code


class DG645Model:
    """The instrument's state and commands (thread-safe: the server and the board's feeder share it)."""

    kind = "dg645"

    def __init__(self, wiring=(), *, width_ps=20_000, jitter_ps=25):
        self.wiring = list(wiring)
        self.channels = tuple(w.channel for w in self.wiring)
        self.width_ps, self.jitter_ps = width_ps, jitter_ps
        self.lead_ps = JITTER_CUT * jitter_ps          # (an edge may come that much before its delay)
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        self.delays = {name: (0, 0) for name in DELAY_CHANNELS if name != "T0"}   # name -> (ref, ps)
        self.trigger_source = 0
        self.trigger_rate = 10_000.0
        self.trigger_level = 1.0
        self.burst, self.burst_count, self.burst_period_ps, self.burst_delay_ps = 0, 1, 1_000_000_000, 0
        self.amplitude = dict.fromkeys(range(len(OUTPUTS)), 2.5)
        self.offset = dict.fromkeys(range(len(OUTPUTS)), 0.0)
        self.polarity = dict.fromkeys(range(len(OUTPUTS)), 1)
        self.errors = []
        self._single_shots = 0
        self.triggers_fired = 0

    # --- commands ------------------------------------------------------------------

    def handle(self, command):
        with self._lock:
            try:
                return self._dispatch(command)
            except _Refused as r:
                if len(self.errors) < QUEUE_DEPTH:
                    self.errors.append(r.code)
                return None

    def _dispatch(self, command):
        head, _, args = command.partition(" ")
        head = head.upper()
        query = "?" in head
        name, _, query_arg = head.partition("?")
        if query and query_arg:
            args = query_arg
        values = [a.strip() for a in args.split(",")] if args.strip() else []
        handler = getattr(self, f"_cmd_{name.lstrip('*').lower()}", None)
        if handler is None:
            raise _Refused(UNDEFINED_COMMAND)
        return handler(query, values)

    def _cmd_idn(self, query, values):
        return IDENTITY

    def _cmd_cls(self, query, values):
        self.errors.clear()

    def _cmd_rst(self, query, values):
        self.reset()

    def _cmd_opc(self, query, values):
        return "1"

    def _cmd_lerr(self, query, values):
        return str(self.errors.pop(0) if self.errors else 0)

    def _cmd_trg(self, query, values):
        if self.trigger_source not in (3, 4, 5):
            raise _Refused(ILLEGAL_MODE)
        if self.trigger_source == 5:
            self._single_shots += 1

    def _cmd_dlay(self, query, values):
        if query:
            channel = self._channel(values, 1)
            ref, ps = self.delays[channel]
            return f"{ref},{ps / 1e12:+.12f}"
        channel = self._channel(values, 3)
        ref = _int(values[1])
        if ref not in range(len(DELAY_CHANNELS)):
            raise _Refused(ILLEGAL_VALUE)
        seconds = _float(values[2])
        if not -MAX_DELAY_S <= seconds <= MAX_DELAY_S:
            raise _Refused(ILLEGAL_DELAY)
        ps = round(seconds * 1e12 / DELAY_RESOLUTION_PS) * DELAY_RESOLUTION_PS
        before = self.delays[channel]
        self.delays[channel] = (ref, ps)
        try:
            absolute = self.absolute_delays()
        except _Refused:
            self.delays[channel] = before
            raise
        if min(absolute.values()) < 0:
            self.delays[channel] = before
            raise _Refused(ILLEGAL_DELAY)

    def _channel(self, values, count):
        if len(values) != count:
            raise _Refused(MISSING_PARAMETERS if len(values) < count else EXTRA_PARAMETERS)
        number = _int(values[0])
        names = {v: k for k, v in DELAY_CHANNELS.items()}
        if number not in names or number == 0:
            raise _Refused(ILLEGAL_VALUE)
        return names[number]

    def absolute_delays(self):
        """Each channel's delay after T0, ps (ILLEGAL_LINK on a loop of references)."""
        names = {v: k for k, v in DELAY_CHANNELS.items()}
        out = {"T0": 0}

        def resolve(name, seen):
            if name in out:
                return out[name]
            if name in seen:
                raise _Refused(ILLEGAL_LINK)
            ref, ps = self.delays[name]
            out[name] = resolve(names[ref], seen | {name}) + ps
            return out[name]

        for name in self.delays:
            resolve(name, frozenset())
        return out

    def _scalar(attr, low, high, cast=float, scale=1):
        def command(self, query, values):
            if query:
                value = getattr(self, attr)
                return f"{value:d}" if cast is int else f"{value / scale:.12g}"
            if len(values) != 1:
                raise _Refused(MISSING_PARAMETERS if not values else EXTRA_PARAMETERS)
            value = (_int if cast is int else _float)(values[0])
            if not low <= value <= high:
                raise _Refused(ILLEGAL_VALUE)
            setattr(self, attr, round(value * scale) if scale != 1 else value)
        return command

    _cmd_tsrc = _scalar("trigger_source", 0, 6, int)
    _cmd_trat = _scalar("trigger_rate", 100e-6, 10e6)
    _cmd_tlvl = _scalar("trigger_level", -3.5, 3.5)
    _cmd_burm = _scalar("burst", 0, 1, int)
    _cmd_burc = _scalar("burst_count", 1, 2 ** 32 - 1, int)
    _cmd_burp = _scalar("burst_period_ps", 100e-9, 42.9, float, 1e12)
    _cmd_burd = _scalar("burst_delay_ps", 0.0, MAX_DELAY_S, float, 1e12)
    del _scalar

    def _output_setting(store, low, high, cast=float):
        def command(self, query, values):
            table = getattr(self, store)
            if query:
                number = _int(values[0]) if len(values) == 1 else None
                if number not in table:
                    raise _Refused(ILLEGAL_VALUE)
                return f"{table[number]:d}" if cast is int else f"{table[number]:.2f}"
            if len(values) != 2:
                raise _Refused(MISSING_PARAMETERS if len(values) < 2 else EXTRA_PARAMETERS)
            number, value = _int(values[0]), (_int if cast is int else _float)(values[1])
            if number not in table or not low <= value <= high:
                raise _Refused(ILLEGAL_VALUE)
            table[number] = value
        return command

    _cmd_lamp = _output_setting("amplitude", 0.5, 5.0)
    _cmd_loff = _output_setting("offset", -2.0, 2.0)
    _cmd_lpol = _output_setting("polarity", 0, 1, int)
    del _output_setting

    # --- the outputs, as a source of the virtual board ---------------------------------

    def _triggers(self, t0, t1):
        if self.trigger_source == 0:
            period = Fraction(10 ** 12) / Fraction(self.trigger_rate).limit_denominator(10 ** 6)
            k0 = -((-t0 * period.denominator) // period.numerator)
            k1 = -((-t1 * period.denominator) // period.numerator)
            times = (np.arange(k0, k1, dtype=np.int64) * period.numerator) // period.denominator
        elif self.trigger_source == 5 and self._single_shots:
            times = t0 + SINGLE_SHOT_SPACING_PS * np.arange(self._single_shots, dtype=np.int64)
            self._single_shots = 0
        else:
            times = np.zeros(0, np.int64)
        if self.burst and len(times):
            steps = self.burst_delay_ps + self.burst_period_ps * np.arange(self.burst_count, dtype=np.int64)
            times = (times[:, None] + steps[None, :]).ravel()
        return times

    def _drives(self, output):
        number = OUTPUTS[_PAIR_OUTPUT.get(output, output)] if output in _PAIR_OUTPUT or output in OUTPUTS \
            else None
        if number is None:          # (T1 has no output of its own)
            return True
        high = self.amplitude[number] + self.offset[number]
        return self.polarity[number] == 1 and high >= INPUT_THRESHOLD_V

    def pulses(self, rng, t0, t1):
        with self._lock:
            triggers = self._triggers(t0, t1)
            self.triggers_fired += len(triggers)
            absolute = self.absolute_delays()
            out = {}
            for wire in self.wiring:
                if not self._drives(wire.output):
                    continue
                if wire.output in PAIRS:
                    first, second = PAIRS[wire.output]
                    start = triggers + absolute[first]
                    width = absolute[second] - absolute[first]
                    if width <= 0:
                        continue
                else:
                    start, width = triggers + absolute[wire.output], self.width_ps
                out[wire.channel] = (start + wire.cable_ps + self._jitter(rng, len(start)),
                                     np.full(len(start), width, np.int64))
            return out

    def _jitter(self, rng, count):
        if not self.jitter_ps:
            return np.zeros(count, np.int64)
        cut = JITTER_CUT * self.jitter_ps
        return np.round(np.clip(rng.normal(0.0, self.jitter_ps, count), -cut, cut)).astype(np.int64)


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise _Refused(ILLEGAL_VALUE) from None


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise _Refused(ILLEGAL_VALUE) from None
