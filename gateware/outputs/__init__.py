"""Trigger outputs: what drives them (the sequencer, the attempt loop, the
timebase's pulse, a static level) and how their sample words are formed.

Every block here produces, per core cycle, an N-sample word per output (bit
0 leaves first), registered, for the board's output PHY. Blocks that act at
a time on the node's timebase plan ``LEAD_CYCLES`` cycles ahead, so the word
holding tick ``T`` reaches the node's ``outputs`` port in the cycle whose
``now`` span ``[now, now + N)`` contains ``T``.
"""

from .waveform import PulseGenerator, LevelAndPulse, LEAD_CYCLES
from .sequencer import Sequencer, SEQUENCER_EVENT
from .attempts import AttemptLoop, PATTERN_ENTRY, AttemptState, StopReason
from .trigger import TriggerOutputs, OutputSource

__all__ = ["PulseGenerator", "LevelAndPulse", "LEAD_CYCLES", "Sequencer", "SEQUENCER_EVENT",
           "AttemptLoop", "PATTERN_ENTRY", "AttemptState", "StopReason", "TriggerOutputs", "OutputSource"]
