"""``qnu.host.analysis``: the analysis of recorded tags, :mod:`qnu.analysis` (which the
simulation uses too, so it lives below the host layer)."""

from qnu.analysis import *                # noqa: F401,F403
from qnu.analysis import __all__          # noqa: F401
