"""A behavioural Keysight 33522B: its SCPI commands, and its two outputs as a source of the virtual board.

Answers the commands :class:`qnu.host.instruments.Keysight33500B` (and
PyMeasure's 33500 driver under it) sends for pulses, bursts and triggers,
``SYST:ERR?`` popping a SCPI error queue (-113 undefined header, -222 data
out of range, -221 settings conflict). Each output drives a tagger input
(``--generator 1:0,2:3:5ns``: channel:input[:cable]):

- shape PULS: pulses of the pulse width every pulse period; SQU: half-period
  pulses at the frequency; any other shape drives no edges; a width not
  shorter than the period is refused (-221), a period set under the width
  halves the width to fit;
- output off, or a high level under the input's threshold (1.5 V), drives nothing;
- burst off: pulses every period from simulated time 0 while the output is on;
- burst on: NCYC pulses from each trigger, after the channel's trigger delay;
  triggers from ``*TRG`` with source BUS (at the start of the next stretch of
  simulated time), or every burst period with source IMM; EXT has no signal;
- Gaussian edge jitter of ``jitter_ps`` RMS (a model parameter).
"""

from dataclasses import dataclass
import re
import threading

import numpy as np

from ..sources import JITTER_CUT
from ..wiring import parse_wires

__all__ = ["GeneratorModel", "GeneratorWire", "parse_generator_wiring", "IDENTITY"]

IDENTITY = "Agilent Technologies,33522B,MY52400042,3.05-1.19-2.00-52-00"
INPUT_THRESHOLD_V = 1.5
UNDEFINED_HEADER = '-113,"Undefined header"'
OUT_OF_RANGE = '-222,"Data out of range"'
CONFLICT = '-221,"Settings conflict"'
QUEUE_DEPTH = 20


@dataclass(frozen=True)
class GeneratorWire:
    output: int             # 1 or 2
    channel: int
    cable_ps: int = 0


def parse_generator_wiring(text):
    """``1:0,2:3:5ns`` -> GeneratorWires (OUTPUT:INPUT[:CABLE])."""
    def output(text):
        if text.strip() not in ("1", "2"):
            raise ValueError(f"the generator has outputs 1 and 2, not {text!r}")
        return int(text)
    return [GeneratorWire(*w) for w in parse_wires(text, what="a generator wire", example="1:0 or 2:3:5ns",
                                                   output=output, none="no generator outputs wired")]


# (name, low, high) of each numeric setting of a channel; text settings with their allowed values
_NUMBERS = {
    "FREQ": ("frequency", 1e-6, 30e6), "FUNC:PULS:PER": ("period", 33e-9, 1e6),
    "FUNC:PULS:WIDT": ("width", 16e-9, 1e6), "VOLT:HIGH": ("high", -4.999, 5.0), "VOLT:LOW": ("low", -5.0, 4.999),
    "BURS:NCYC": ("ncycles", 1, 1e8), "BURS:INT:PER": ("burst_period", 1e-6, 8000.0),
    "FUNC:PULS:TRAN": ("edge", 8.4e-9, 1e-6), "FUNC:PULS:TRAN:BOTH": ("edge", 8.4e-9, 1e-6),
}
_TEXTS = {
    "FUNC": ("shape", ("SIN", "SQU", "TRI", "RAMP", "PULS", "PRBS", "NOIS", "ARB", "DC")),
    "BURS:MODE": ("burst_mode", ("TRIG", "GAT")),
}
_SWITCHES = {"BURS:STAT": "burst"}
_TRIGGER = {"SOUR": ("trigger_source", ("IMM", "EXT", "TIM", "BUS")), "SLOP": ("trigger_slope", ("POS", "NEG"))}


class GeneratorModel:
    kind = "generator"

    def __init__(self, wiring=(), *, jitter_ps=30):
        self.wiring = list(wiring)
        self.channels = tuple(w.channel for w in self.wiring)
        self.jitter_ps = jitter_ps
        self.lead_ps = JITTER_CUT * jitter_ps
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        self.state = {ch: dict(shape="SIN", frequency=1e3, period=1e-3, width=1e-4, high=0.05, low=-0.05,
                               output=0, burst=0, burst_mode="TRIG", ncycles=1, burst_period=1e-2, edge=8.4e-9,
                               trigger_source="IMM", trigger_slope="POS", trigger_delay=0.0, pending=0)
                      for ch in (1, 2)}
        self.errors = []

    # --- commands ------------------------------------------------------------------

    def handle(self, command):
        with self._lock:
            answer = self._dispatch(command.strip())
            if answer is False:
                if len(self.errors) < QUEUE_DEPTH:
                    self.errors.append(UNDEFINED_HEADER)
                return None
            return answer

    def _refuse(self, error):
        if len(self.errors) < QUEUE_DEPTH:
            self.errors.append(error)

    def _dispatch(self, command):
        upper = command.upper()
        if upper == "*IDN?":
            return IDENTITY
        if upper in ("*CLS",):
            self.errors.clear()
            return None
        if upper in ("*RST",):
            self.reset()
            return None
        if upper in ("*TRG", "*TRG;*WAI", "*WAI"):
            for st in self.state.values():
                if st["trigger_source"] == "BUS" and st["burst"]:
                    st["pending"] += 1
            return None
        if upper == "SYST:ERR?":
            return self.errors.pop(0) if self.errors else '+0,"No error"'
        m = re.fullmatch(r"OUTP(\d)?(\?)?(?:\s+(\S+))?", upper)
        if m:
            return self._setting(self._channel(m[1]), "output", m[2], m[3], switch=True)
        m = re.fullmatch(r"TRIG(\d)?:(SOUR|SLOP|DEL)(\?)?(?:\s+(\S+))?", upper)
        if m:
            st = self._channel(m[1])
            if m[2] == "DEL":
                return self._setting(st, "trigger_delay", m[3], m[4], number=(0.0, 1000.0))
            name, allowed = _TRIGGER[m[2]]
            return self._setting(st, name, m[3], m[4], text=allowed)
        m = re.fullmatch(r"(?:SOUR(\d):)?([A-Z:]+?)(\?)?(?:\s+(\S+))?", upper)
        if m:
            st, header = self._channel(m[1]), m[2]
            if header in _NUMBERS:
                name, low, high = _NUMBERS[header]
                return self._setting(st, name, m[3], m[4], number=(low, high))
            if header in _TEXTS:
                name, allowed = _TEXTS[header]
                return self._setting(st, name, m[3], m[4], text=allowed)
            if header in _SWITCHES:
                return self._setting(st, _SWITCHES[header], m[3], m[4], switch=True)
        return False

    def _channel(self, digit):
        return self.state[int(digit) if digit in ("1", "2") else 1]

    def _setting(self, st, name, query, value, *, number=None, text=None, switch=False):
        if query:
            v = st[name]
            return f"{v:+.9E}" if number else (str(int(v)) if switch else v)
        if value is None:
            self._refuse('-109,"Missing parameter"')
            return None
        if switch:
            flag = {"1": 1, "ON": 1, "0": 0, "OFF": 0}.get(value)
            if flag is None:
                return self._refuse(OUT_OF_RANGE)
            st[name] = flag
        elif text:
            match = [t for t in text if value.startswith(t)]
            if not match:
                return self._refuse(OUT_OF_RANGE)
            st[name] = match[0]
        else:
            try:
                v = float(value)
            except ValueError:
                return self._refuse('-128,"Numeric data not allowed"')
            if not number[0] <= v <= number[1]:
                return self._refuse(OUT_OF_RANGE)
            if name == "width" and v >= st["period"]:
                return self._refuse(CONFLICT)           # (a pulse no shorter than its period)
            if name == "period" and v <= st["width"]:
                st["width"] = v / 2                     # (the instrument shrinks the width to fit)
            st[name] = v
        return None

    # --- the outputs, as a source ------------------------------------------------------

    def _shape(self, st):
        """(period_ps, width_ps) of the channel's pulses, or None if it drives no edges."""
        if not st["output"] or st["high"] < INPUT_THRESHOLD_V:
            return None
        if st["shape"] == "PULS":
            return round(st["period"] * 1e12), round(st["width"] * 1e12)
        if st["shape"] == "SQU":
            period = round(1e12 / st["frequency"])
            return period, period // 2
        return None

    def _starts(self, st, period, t0, t1):
        if not st["burst"]:
            k = np.arange(-(-t0 // period), -(-t1 // period), dtype=np.int64)
            return k * period
        if st["trigger_source"] == "BUS":
            triggers = t0 + np.arange(st["pending"], dtype=np.int64) * round(st["burst_period"] * 1e12)
            st["pending"] = 0
        elif st["trigger_source"] in ("IMM", "TIM"):
            every = round(st["burst_period"] * 1e12)
            triggers = np.arange(-(-t0 // every), -(-t1 // every), dtype=np.int64) * every
        else:
            return np.zeros(0, np.int64)
        cycles = np.arange(int(st["ncycles"]), dtype=np.int64) * period
        return (triggers[:, None] + round(st["trigger_delay"] * 1e12) + cycles[None, :]).ravel()

    def pulses(self, rng, t0, t1):
        with self._lock:
            out = {}
            for wire in self.wiring:
                st = self.state[wire.output]
                shape = self._shape(st)
                if shape is None:
                    st["pending"] = 0
                    continue
                period, width = shape
                starts = self._starts(st, period, t0, t1)
                jitter = np.round(np.clip(rng.normal(0.0, self.jitter_ps, len(starts)), -self.lead_ps,
                                          self.lead_ps)).astype(np.int64) if self.jitter_ps else 0
                out[wire.channel] = (starts + wire.cable_ps + jitter, np.full(len(starts), width, np.int64))
            return out
