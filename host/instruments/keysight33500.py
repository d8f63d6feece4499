"""Keysight 33500B and 33600A waveform generators, built on PyMeasure's Agilent 33500 driver.

PyMeasure's driver covers the waveform of each channel (shape, frequency,
levels, pulse, burst, output). QNU adds what a bench routine needs from a
two-channel generator: each channel's own trigger (``TRIGn:SOUR``, ``SLOP``,
``DEL``), a bus trigger, identification, and the error queue read after every
command (``SYST:ERR?``), and :meth:`GeneratorChannel.pulse` and
:meth:`GeneratorChannel.burst` that set a whole pulse train or leave the
channel as it was.
"""

from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent.agilent33500 import Agilent33500, Agilent33500Channel
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import QnuInstrument, ScpiErrorQueue

__all__ = ["Keysight33500B", "Keysight33600A", "GeneratorChannel"]

TRIGGER_SOURCES = ("IMM", "EXT", "TIM", "BUS")


class GeneratorChannel(Agilent33500Channel):
    """One output channel (``gen.ch_1``, ``gen.ch_2``)."""

    trigger_source = Instrument.control(
        "TRIG{ch}:SOUR?", "TRIG{ch}:SOUR %s",
        "What triggers a burst on this channel: IMM, EXT (the rear Ext Trig input), TIM or BUS (*TRG).",
        validator=strict_discrete_set, values=TRIGGER_SOURCES)
    trigger_slope = Instrument.control(
        "TRIG{ch}:SLOP?", "TRIG{ch}:SLOP %s", "The external trigger's edge: POS or NEG.",
        validator=strict_discrete_set, values=("POS", "NEG"))
    trigger_delay = Instrument.control(
        "TRIG{ch}:DEL?", "TRIG{ch}:DEL %.12e", "Delay from the trigger to the burst, s (0 to 1000).",
        validator=strict_range, values=(0.0, 1000.0))

    def pulse(self, *, period_s, width_s, high_v, low_v=0.0, edge_s=None):
        """A pulse train: all of it set, or the channel left as it was."""
        settings = dict(shape="PULS", pulse_period=period_s, pulse_width=width_s,
                        voltage_high=high_v, voltage_low=low_v)
        if edge_s is not None:
            settings["pulse_transition"] = edge_s
        self.parent.apply(self, **settings)

    def burst(self, cycles, *, trigger="BUS", delay_s=0.0):
        """Bursts of ``cycles`` periods of the channel's waveform on each trigger."""
        self.parent.apply(self, burst_mode="TRIG", burst_ncycles=cycles, trigger_source=trigger,
                          trigger_delay=delay_s, burst_state=True)


class Keysight33500B(ScpiErrorQueue, QnuInstrument, Agilent33500):
    """A Keysight (or Agilent) 33500B-series generator: 33509B ... 33522B."""

    MODEL = "33500B"
    IDENTITY = r"(Agilent|Keysight) Technologies,\s*335\d\dB"

    ch_1 = Instrument.ChannelCreator(GeneratorChannel, 1)
    ch_2 = Instrument.ChannelCreator(GeneratorChannel, 2)

    def trigger(self):
        """A bus trigger (``*TRG``) for every channel whose source is BUS."""
        self.write("*TRG")


class Keysight33600A(Keysight33500B):
    """A Keysight 33600A-series generator: 33611A ... 33622A (the same commands, 1 ns edges)."""

    MODEL = "33600A"
    IDENTITY = r"Keysight Technologies,\s*336\d\dA"
