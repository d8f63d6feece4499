"""A link file (TOML): the physics, the attempts and the station's clock,
with documented defaults (examples/link.toml shows every key)."""

import tomllib
from dataclasses import dataclass, field

from .physics import BeamSplitter, Clock, Detector, Emitter, Fibre, LinkPhysics, Transducer
from .sources import parse_rate, parse_time

__all__ = ["LinkConfig", "load_link", "link_from_dict"]

_KNOWN = {"seed", "backend", "herald", "attempts", "emitter", "fibre", "collection", "detector", "beam_splitter",
          "transducer", "clock", "station"}


@dataclass
class LinkConfig:
    physics: LinkPhysics
    period_ps: int = 2_000_000
    count: int = 100_000
    seed: int = 1
    samples_per_cycle: int = 4          # the station's virtual board
    clock_hz: int = 100_000_000
    raw: dict = field(default_factory=dict)

    @property
    def bin_ps(self):
        return 1e12 / (self.clock_hz * self.samples_per_cycle)


def _time(section, key, default):
    value = section.get(key)
    return default if value is None else parse_time(value)


def _take(section, name, allowed):
    unknown = set(section) - set(allowed)
    if unknown:
        raise ValueError(f"[{name}]: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(allowed)})")
    return section


def link_from_dict(raw):
    unknown = set(raw) - _KNOWN
    if unknown:
        raise ValueError(f"unknown section(s) or key(s) {', '.join(sorted(unknown))} in the link file")
    h = _take(raw.get("herald", {}), "herald", ["scheme", "window", "window_offset", "late_window_offset"])
    a = _take(raw.get("attempts", {}), "attempts", ["period", "count"])
    e = _take(raw.get("emitter", {}), "emitter", ["alpha", "emission_probability", "lifetime", "double_excitation"])
    f = _take(raw.get("fibre", {}), "fibre", ["length_a", "length_b", "loss_db_per_km"])
    c = _take(raw.get("collection", {}), "collection", ["efficiency_a", "efficiency_b"])
    d = _take(raw.get("detector", {}), "detector", ["efficiency", "dark_count_rate", "jitter", "dead_time",
                                                     "afterpulsing", "afterpulse_delay"])
    b = _take(raw.get("beam_splitter", {}), "beam_splitter", ["visibility"])
    s = _take(raw.get("station", {}), "station", ["samples_per_cycle", "clock_hz"])
    emitter_defaults, detector_defaults = Emitter(), Detector()
    loss = f.get("loss_db_per_km", Fibre().loss_db_per_km)
    length = lambda key: parse_length(f[key]) if key in f else Fibre().length_m
    transducers = {}
    for which in "ab":
        t = raw.get("transducer", {})
        t = t.get(which, t) if isinstance(t, dict) and which in t else t
        if t:
            _take(t, "transducer", ["efficiency", "noise_photons", "bandwidth", "a", "b"])
            transducers[which] = Transducer(efficiency=t.get("efficiency", Transducer().efficiency),
                                            noise_photons=t.get("noise_photons", Transducer().noise_photons),
                                            bandwidth_hz=parse_rate(t["bandwidth"]) if "bandwidth" in t
                                            else Transducer().bandwidth_hz)
    clocks = raw.get("clock", {})
    physics = LinkPhysics(
        scheme=h.get("scheme", "single-click"),
        window_ps=_time(h, "window", 30_000),
        window_offset_ps=_time(h, "window_offset", 20_000),
        late_window_offset_ps=_time(h, "late_window_offset", None),
        emitter=Emitter(alpha=e.get("alpha", emitter_defaults.alpha),
                        emission_probability=e.get("emission_probability", emitter_defaults.emission_probability),
                        lifetime_ps=_time(e, "lifetime", emitter_defaults.lifetime_ps),
                        double_excitation=e.get("double_excitation", emitter_defaults.double_excitation)),
        fibre_a=Fibre(length("length_a"), loss), fibre_b=Fibre(length("length_b"), loss),
        collection_a=c.get("efficiency_a", 0.1), collection_b=c.get("efficiency_b", 0.1),
        transducer_a=transducers.get("a"), transducer_b=transducers.get("b"),
        detector=Detector(efficiency=d.get("efficiency", detector_defaults.efficiency),
                          dark_count_rate_hz=parse_rate(d["dark_count_rate"]) if "dark_count_rate" in d
                          else detector_defaults.dark_count_rate_hz,
                          jitter_ps=_time(d, "jitter", detector_defaults.jitter_ps),
                          dead_time_ps=_time(d, "dead_time", detector_defaults.dead_time_ps),
                          afterpulsing=d.get("afterpulsing", detector_defaults.afterpulsing),
                          afterpulse_delay_ps=_time(d, "afterpulse_delay", detector_defaults.afterpulse_delay_ps)),
        beam_splitter=BeamSplitter(b.get("visibility", BeamSplitter().visibility)),
        clock_a=Clock(jitter_ps=_time(clocks.get("a", {}), "jitter", 0)),
        clock_b=Clock(jitter_ps=_time(clocks.get("b", {}), "jitter", 0)),
    )
    return LinkConfig(physics, period_ps=_time(a, "period", 2_000_000), count=int(a.get("count", 100_000)),
                      seed=int(raw.get("seed", 1)), samples_per_cycle=int(s.get("samples_per_cycle", 4)),
                      clock_hz=int(s.get("clock_hz", 100_000_000)), raw=raw)


def parse_length(text):
    """'10m', '2km', '500 m', or a bare number of metres."""
    import re
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(m|km)?\s*", str(text))
    if not m:
        raise ValueError(f"bad length {text!r}: a number with m or km")
    return float(m[1]) * (1000 if m[2] == "km" else 1)


def load_link(path):
    with open(path, "rb") as f:
        try:
            raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path}: not a TOML file ({e})") from None
    return link_from_dict(raw)
