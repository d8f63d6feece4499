"""QNU: the classical timing layer of a quantum network node.

Subpackages: :mod:`qnu.gateware` (platform-free Amaranth components),
:mod:`qnu.sim` (reference models, stimuli, testbenches), :mod:`qnu.host`
(host library and CLI) and :mod:`qnu.boards` (board platforms).
"""

__version__ = "0.1.0"
