"""Input sources of the virtual board, generated in time chunks so a board can run forever.

A source makes detector-like pulses (start time and width, in ps) for one or
two channels over a span of time ``[t0, t1)``:

- ``periodic``: a pulse every ``period`` from ``phase`` (a laser sync).
- ``poisson`` / ``dark``: pulses at Poisson times at ``rate`` (clicks, dark counts).
- ``pair``: correlated clicks on two channels: the first at Poisson times at
  ``rate``, its partner ``delay`` later with Gaussian ``jitter`` (RMS),
  present with probability ``efficiency``; plus ``noise`` Hz of independent
  Poisson clicks on each of the two.

Sources are written on the command line as ``CHANNELS:KIND:key=value,...``
(``0:poisson:rate=1e6``, ``2,3:pair:rate=5e5,delay=12.5ns,jitter=300ps``) or
in a TOML or JSON file::

    seed = 1
    [[source]]
    channels = [2, 3]
    kind = "pair"
    rate = 5e5
    delay = "12.5ns"

Times are ps unless they carry a unit (ps, ns, us, ms, s); rates are Hz
unless they carry one (Hz, kHz, MHz).
"""

from dataclasses import dataclass
from fractions import Fraction
import json
import re
import tomllib

import numpy as np

__all__ = ["Source", "Periodic", "Poisson", "Pair", "parse_source", "parse_time", "parse_rate",
           "load_config", "KINDS", "DEFAULT_WIDTH_PS"]

DEFAULT_WIDTH_PS = 10_000       # a typical SPAD output pulse
JITTER_CUT = 6                  # jitter is a Gaussian cut at 6 sigma, so a pulse is never
                                # later than that ahead of the time generated so far

_TIME_UNITS = {"ps": 1, "ns": 10 ** 3, "us": 10 ** 6, "ms": 10 ** 9, "s": 10 ** 12}
_RATE_UNITS = {"hz": 1, "khz": 10 ** 3, "mhz": 10 ** 6, "ghz": 10 ** 9}


def _number_with_unit(text, units, what):
    if isinstance(text, (int, float)):
        return text, 1
    m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*([a-z]*)\s*", str(text), re.IGNORECASE)
    if not m or (m[2] and m[2].lower() not in units):
        raise ValueError(f"bad {what} {text!r}: expected a number with an optional unit "
                         f"({', '.join(units)})")
    return float(m[1]) if any(c in m[1] for c in ".eE") else int(m[1]), units[m[2].lower()] if m[2] else 1


def parse_time(text):
    """'12.5ns' -> 12500 (integer ps); a bare number is ps."""
    value, scale = _number_with_unit(text, _TIME_UNITS, "time")
    return int(round(value * scale))


def parse_rate(text):
    """'1.5MHz' -> 1.5e6 (float Hz); a bare number is Hz."""
    value, scale = _number_with_unit(text, _RATE_UNITS, "rate")
    if value * scale < 0:
        raise ValueError(f"negative rate {text!r}")
    return float(value * scale)


def _poisson_starts(rng, rate_hz, t0, t1):
    count = rng.poisson(rate_hz * (t1 - t0) / 1e12) if t1 > t0 and rate_hz > 0 else 0
    return np.sort(rng.integers(t0, t1, size=count, dtype=np.int64))


@dataclass
class Source:
    """Base class: ``pulses(rng, t0, t1)`` -> {channel: (starts, widths)} for primaries in [t0, t1)."""
    channels: tuple
    width: int = DEFAULT_WIDTH_PS

    # how far before t0 a pulse of the span [t0, t1) may start
    lead_ps = 0

    def _check(self, count):
        if len(self.channels) != count:
            raise ValueError(f"{self.kind} takes {count} channel(s), not {list(self.channels)}")
        if self.width <= 0:
            raise ValueError(f"{self.kind}: width must be positive")

    def _single(self, starts):
        return {self.channels[0]: (starts, np.full(len(starts), self.width, dtype=np.int64))}


@dataclass
class Periodic(Source):
    period: int = 1_000_000
    phase: int = 0
    kind = "periodic"

    def __post_init__(self):
        self._check(1)
        if self.period <= 0:
            raise ValueError("periodic: period must be positive")

    def pulses(self, rng, t0, t1):
        # pulse k at phase + floor(k * period): exact for any period, no drift
        p = Fraction(self.period)
        k0 = max(0, -((-(t0 - self.phase) * p.denominator) // p.numerator))
        k1 = max(0, -((-(t1 - self.phase) * p.denominator) // p.numerator))
        k = np.arange(k0, k1, dtype=np.int64)
        return self._single(self.phase + (k * p.numerator) // p.denominator)


@dataclass
class Poisson(Source):
    rate: float = 1e6
    kind = "poisson"

    def __post_init__(self):
        self._check(1)

    def pulses(self, rng, t0, t1):
        return self._single(_poisson_starts(rng, self.rate, t0, t1))


@dataclass
class Pair(Source):
    rate: float = 1e6
    delay: int = 0
    jitter: int = 0
    efficiency: float = 1.0
    noise: float = 0.0
    kind = "pair"

    def __post_init__(self):
        self._check(2)
        if not 0 <= self.efficiency <= 1:
            raise ValueError("pair: efficiency must be between 0 and 1")
        if self.jitter < 0:
            raise ValueError("pair: jitter must not be negative")
        self.lead_ps = max(0, -(self.delay - JITTER_CUT * self.jitter))

    def pulses(self, rng, t0, t1):
        a, b = self.channels
        first = _poisson_starts(rng, self.rate, t0, t1)
        kept = first[rng.random(len(first)) < self.efficiency]
        jitter = np.clip(rng.normal(0.0, self.jitter, len(kept)), -JITTER_CUT * self.jitter,
                         JITTER_CUT * self.jitter) if self.jitter else np.zeros(len(kept))
        second = kept + self.delay + np.round(jitter).astype(np.int64)
        out = {}
        for ch, starts in ((a, first), (b, second)):
            starts = np.concatenate([starts, _poisson_starts(rng, self.noise, t0, t1)])
            out.setdefault(ch, []).append(starts)
        return {ch: (s := np.concatenate(parts), np.full(len(s), self.width, dtype=np.int64))
                for ch, parts in out.items()}


KINDS = {"periodic": Periodic, "poisson": Poisson, "dark": Poisson, "pair": Pair}
_TIME_KEYS = {"width", "period", "phase", "delay", "jitter"}
_RATE_KEYS = {"rate", "noise"}


def make_source(kind, channels, **params):
    cls = KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown source kind {kind!r}: one of {', '.join(KINDS)}")
    values = {}
    for key, value in params.items():
        if key in _TIME_KEYS:
            values[key] = parse_time(value)
        elif key in _RATE_KEYS:
            values[key] = parse_rate(value)
        elif key == "efficiency" and cls is Pair:
            values[key] = float(value)
        else:
            raise ValueError(f"{kind} source has no parameter {key!r}")
    unknown = set(values) - set(cls.__dataclass_fields__)
    if unknown:
        raise ValueError(f"{kind} source has no parameter {sorted(unknown)[0]!r}")
    return cls(tuple(int(c) for c in channels), **values)


def parse_source(text):
    """'2,3:pair:rate=5e5,delay=12.5ns' -> a Source."""
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise ValueError(f"bad source {text!r}: expected CHANNELS:KIND[:key=value,...]")
    try:
        channels = [int(c) for c in parts[0].split(",")]
    except ValueError:
        raise ValueError(f"bad source {text!r}: channels must be integers like 0 or 2,3") from None
    params = {}
    if len(parts) == 3 and parts[2].strip():
        for item in parts[2].split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"bad source {text!r}: parameter {item!r} is not key=value")
            params[key.strip()] = value.strip()
    return make_source(parts[1].strip(), channels, **params)


def load_config(path):
    """(sources, seed) from a TOML (.toml) or JSON file with a ``source`` (or ``sources``) list."""
    path = str(path)
    with open(path, "rb") as f:
        config = tomllib.load(f) if path.endswith(".toml") else json.load(f)
    entries = config.get("source", config.get("sources", []))
    sources = []
    for entry in entries:
        entry = dict(entry)
        try:
            kind, channels = entry.pop("kind"), entry.pop("channels")
        except KeyError as e:
            raise ValueError(f"{path}: every source needs 'kind' and 'channels' ({e.args[0]} missing)")
        channels = [channels] if isinstance(channels, int) else channels
        sources.append(make_source(kind, channels, **entry))
    return sources, config.get("seed")
