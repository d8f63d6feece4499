"""The link's physical parameters, with their defaults and where those come from.

Times are in ps, rates in Hz, probabilities in [0, 1]. docs/physics.md lists
the sources; the short form is in each field's comment.
"""

from dataclasses import dataclass, field, replace

__all__ = ["Emitter", "Transducer", "Fibre", "Detector", "BeamSplitter", "Clock", "LinkPhysics",
           "FIBRE_PS_PER_M"]

#: light in silica fibre: group index about 1.468 (SMF-28 at 1550 nm), 4.9 ns per metre
FIBRE_PS_PER_M = 1.468 / 299_792_458 * 1e12


def _probability(name, value):
    if not 0 <= value <= 1:
        raise ValueError(f"{name} is a probability, 0 to 1, not {value}")


@dataclass(frozen=True)
class Emitter:
    alpha: float = 0.1                  # bright-state population, single-click (Hermans et al. 2022: 0.05-0.1)
    emission_probability: float = 1.0  # a photon per excitation, Barrett-Kok (the spin-photon pair)
    lifetime_ps: float = 12_000         # NV centre excited state, 12 ns (Bernien et al. 2013)
    double_excitation: float = 0.0      # a second photon per emission (NV: about 0.04, Hensen et al. 2015)

    def __post_init__(self):
        for name in ("alpha", "emission_probability", "double_excitation"):
            _probability(name, getattr(self, name))
        if self.lifetime_ps <= 0:
            raise ValueError("the lifetime must be positive")


@dataclass(frozen=True)
class Transducer:
    """A microwave-to-optical converter for a superconducting-qubit node."""
    efficiency: float = 0.1             # conversion efficiency (state of the art ~1e-3 to 0.1)
    noise_photons: float = 0.01         # added optical noise photons per excitation, in its output mode
    bandwidth_hz: float = 10e6          # output bandwidth: the photon's lifetime is 1 / (2 pi bandwidth)

    def __post_init__(self):
        _probability("efficiency", self.efficiency)
        if self.noise_photons < 0 or self.bandwidth_hz <= 0:
            raise ValueError("noise photons must be >= 0 and the bandwidth positive")

    @property
    def lifetime_ps(self):
        import math
        return 1e12 / (2 * math.pi * self.bandwidth_hz)


@dataclass(frozen=True)
class Fibre:
    length_m: float = 10.0
    loss_db_per_km: float = 0.2         # SMF-28 at 1550 nm (at the NV's 637 nm: about 8 dB/km)

    @property
    def transmission(self):
        return 10 ** (-self.loss_db_per_km * self.length_m / 1000 / 10)

    @property
    def delay_ps(self):
        return self.length_m * FIBRE_PS_PER_M


@dataclass(frozen=True)
class Detector:
    efficiency: float = 0.8             # SNSPD (Delft's network: ~0.8)
    dark_count_rate_hz: float = 20.0    # Delft: ~20 Hz
    jitter_ps: float = 50.0             # Gaussian sigma
    dead_time_ps: float = 20_000        # SNSPD reset, tens of ns
    afterpulsing: float = 0.0           # a click's chance of an afterpulse (SPADs; SNSPDs have none)
    afterpulse_delay_ps: float = 100_000

    def __post_init__(self):
        _probability("efficiency", self.efficiency)
        _probability("afterpulsing", self.afterpulsing)
        if min(self.dark_count_rate_hz, self.jitter_ps, self.dead_time_ps) < 0:
            raise ValueError("dark count rate, jitter and dead time must be >= 0")


@dataclass(frozen=True)
class BeamSplitter:
    visibility: float = 0.9             # HOM visibility (Delft: ~0.9)

    def __post_init__(self):
        _probability("visibility", self.visibility)


@dataclass(frozen=True)
class Clock:
    """A node's clock against the station's (the synchronization issue builds on it)."""
    frequency_offset_ppm: float = 0.0
    jitter_ps: float = 0.0              # Gaussian sigma of the laser trigger's time


@dataclass(frozen=True)
class LinkPhysics:
    """Everything between the two nodes' laser triggers and the station's detector edges.

    ``arrival_ps``: when the (early) photons reach the detectors after the
    attempt start, before the emitter's decay (default: the window opens at
    the arrival, each laser firing early by its own fibre delay);
    ``late_arrival_ps`` likewise for Barrett-Kok's second round.
    """
    scheme: str = "single-click"
    window_ps: int = 30_000
    window_offset_ps: int = 20_000
    late_window_offset_ps: int = None
    arrival_ps: int = None
    late_arrival_ps: int = None
    emitter: Emitter = field(default_factory=Emitter)
    fibre_a: Fibre = field(default_factory=Fibre)
    fibre_b: Fibre = field(default_factory=Fibre)
    collection_a: float = 0.1
    collection_b: float = 0.1
    transducer_a: Transducer = None
    transducer_b: Transducer = None
    detector: Detector = field(default_factory=Detector)
    beam_splitter: BeamSplitter = field(default_factory=BeamSplitter)
    clock_a: Clock = field(default_factory=Clock)
    clock_b: Clock = field(default_factory=Clock)

    def __post_init__(self):
        if self.scheme not in ("single-click", "barrett-kok"):
            raise ValueError(f"unknown scheme {self.scheme!r}: single-click or barrett-kok")
        _probability("collection_a", self.collection_a)
        _probability("collection_b", self.collection_b)
        if self.window_ps <= 0:
            raise ValueError("the window must be wider than 0")
        if self.scheme == "barrett-kok":
            if self.late_window_offset_ps is None:
                raise ValueError("Barrett-Kok needs late_window_offset_ps")
            if self.late_window_offset_ps < self.window_offset_ps + self.window_ps:
                raise ValueError("the late window must open after the early one closes")

    @property
    def rounds(self):
        return 2 if self.scheme == "barrett-kok" else 1

    def window_offsets(self):
        return [self.window_offset_ps] + ([self.late_window_offset_ps] if self.rounds == 2 else [])

    def arrivals(self):
        early = self.window_offset_ps if self.arrival_ps is None else self.arrival_ps
        if self.rounds == 1:
            return [early]
        late = self.late_window_offset_ps if self.late_arrival_ps is None else self.late_arrival_ps
        return [early, late]

    def node(self, which):
        """(collection, fibre, transducer, clock) of node 'a' or 'b'."""
        return {"a": (self.collection_a, self.fibre_a, self.transducer_a, self.clock_a),
                "b": (self.collection_b, self.fibre_b, self.transducer_b, self.clock_b)}[which]

    def lifetime_ps(self, which):
        transducer = self.node(which)[2]
        return transducer.lifetime_ps if transducer is not None else self.emitter.lifetime_ps

    def jitter_ps(self, which):
        return (self.detector.jitter_ps ** 2 + self.node(which)[3].jitter_ps ** 2) ** 0.5

    def transmission(self, which):
        """A photon leaving the emitter reaches a detector (before its efficiency)."""
        collection, fibre, transducer, _ = self.node(which)
        return collection * fibre.transmission * (transducer.efficiency if transducer else 1.0)

    def noise_transmission(self, which):
        """A transducer's noise photon reaches a detector (it starts after collection and conversion)."""
        return self.node(which)[1].transmission

    def with_(self, **changes):
        return replace(self, **changes)
