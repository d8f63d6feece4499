"""Platform-free Amaranth gateware of a QNU node.

Nothing here knows about pins or vendor primitives: samples arrive as
N-sample words from a PHY (see :mod:`qnu.boards`), so the same components
serve SDR, DDR and SERDES inputs and simulation alike.

Grouped by capability:

- ``timing``: the timebase, the tagger channels and the merger of their
  events (``TimingCore``);
- ``hostlink``: the UART, SLIP frames, the command engine, the register bank
  and the event framer;
- ``outputs``: the trigger outputs and what drives them (the timebase's
  pulse, the sequencer, the attempt loop);
- ``phy``: the platform-free halves of the PHYs (the gearboxes);
- ``node``: the ``Node`` that composes them; ``bramfifo``: a shared FIFO.
"""

from .timing.event import EventKind, ChannelConfig, event_layout, TIME_WIDTH
from .timing.timebase import Timebase
from .timing.channel import TaggerChannel
from .timing.merge import EventMerger
from .timing.core import TimingCore

__all__ = ["EventKind", "ChannelConfig", "event_layout", "TIME_WIDTH",
           "Timebase", "TaggerChannel", "EventMerger", "TimingCore"]
