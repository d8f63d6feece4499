"""Host-side library and command line.

    from qnu.host import open_device
    with open_device("/dev/ttyUSB0") as dev:    # or a pyserial URL, or a virtual board's pty
        rec = dev.record(duration_s=1.0)
"""

from qnu.host.device import ChannelConfig, CountRates, Counters, Device, open_device
from qnu.host.attempts import AttemptPulse, AttemptStatus
from qnu.host.errors import (AccessError, AttemptsRefused, CrcErrors, DeviceError, HeraldRefused, LinkLost, LinkTimeout,
                             PortError,
                             QnuError, SequencerFull, SequencerLate, UnknownRegister, VersionMismatch)
from qnu.host.herald import Herald, Outcome
from qnu.host.sequencer import Edge, Pulse, SequencerStatus
from qnu.regmap import OutputSource, StopReason
from qnu.recording import Gap, Overflow, Recording, TagBlock, load_recording
from qnu.units import TickClock

__all__ = [
    "Device", "open_device", "ChannelConfig", "Counters", "CountRates",
    "Recording", "TagBlock", "Overflow", "Gap", "load_recording", "TickClock",
    "QnuError", "PortError", "LinkTimeout", "LinkLost", "CrcErrors", "VersionMismatch", "DeviceError",
    "AccessError", "UnknownRegister", "SequencerLate", "SequencerFull", "AttemptsRefused", "HeraldRefused",
    "Herald", "Outcome",
    "Pulse", "Edge", "SequencerStatus", "AttemptPulse", "AttemptStatus", "OutputSource", "StopReason",
]
