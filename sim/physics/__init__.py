"""Physics of a heralded entanglement link: emitters, an optional
microwave-to-optical transducer, fibres, the midpoint beam splitter,
detectors and clocks (:mod:`.params`); closed-form success and false-herald
probabilities for both schemes (:mod:`.analytic`); and a Monte Carlo of the
same physics, attempt by attempt (:mod:`.montecarlo`). docs/physics.md
derives the formulas and gives the sources of the defaults."""

from .params import Emitter, Transducer, Fibre, Detector, BeamSplitter, Clock, LinkPhysics
from .analytic import Analytic, emg_cdf
from .montecarlo import simulate, Clicks

__all__ = ["Emitter", "Transducer", "Fibre", "Detector", "BeamSplitter", "Clock", "LinkPhysics",
           "Analytic", "emg_cdf", "simulate", "Clicks"]
