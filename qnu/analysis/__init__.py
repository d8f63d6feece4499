"""Analysis of recorded tags (``qnu.analysis``, also ``qnu.host.analysis``): small
modules of vectorised numpy, each function checked against a brute-force
reference in the tests.

- :mod:`.rates`: count rates per channel, and over time in bins;
- :mod:`.coincidences`: two channels within a window, or a group each in its own window;
- :mod:`.correlation`: the g2(tau) cross-correlation histogram, normalised as Swabian's;
- :mod:`.histograms`: start-stop histograms and time differences;
- :mod:`.stability`: Allan deviation and TDEV of a timestamp series;
- :mod:`.heralds`: heralding statistics from herald records.
"""

from .rates import count_rates, count_rate_trace
from .coincidences import coincidences, coincidence_times
from .correlation import correlation, correlation_normalised, correlation_taus
from .histograms import start_stop, start_stop_pairs, time_differences
from .stability import adev, mdev, tdev, phase_from_timestamps, octave_factors
from .heralds import HeraldStatistics, herald_statistics

__all__ = ["count_rates", "count_rate_trace", "coincidences", "coincidence_times", "correlation",
           "correlation_normalised", "correlation_taus", "start_stop", "start_stop_pairs", "time_differences",
           "adev", "mdev", "tdev", "phase_from_timestamps", "octave_factors", "HeraldStatistics",
           "herald_statistics"]
