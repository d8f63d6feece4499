"""Platform-free Amaranth gateware of a QNU node.

Nothing here knows about pins or vendor primitives: samples arrive as
N-sample words from a PHY (see :mod:`qnu.boards`), so the same components
serve SDR, DDR and SERDES inputs and simulation alike.
"""

from .event import EventKind, ChannelConfig, event_layout, TIME_WIDTH
from .timebase import Timebase
from .channel import TaggerChannel
from .merge import EventMerger
from .core import TimingCore

__all__ = ["EventKind", "ChannelConfig", "event_layout", "TIME_WIDTH",
           "Timebase", "TaggerChannel", "EventMerger", "TimingCore"]
