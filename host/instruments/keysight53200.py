"""Keysight (Agilent) 53220A and 53230A universal counters.

Time interval from channel 1 to channel 2 with each channel's level, slope,
impedance and coupling (``CONF:TINT (@1),(@2)``, ``INPn:...``), frequency
(``CONF:FREQ``), N readings per measurement (``SAMP:COUN``, ``READ?``), the
counter's own statistics over them (``CALC:AVER:STAT``, ``CALC:AVER:ALL?``:
mean, standard deviation, minimum, maximum), and on the 53230A continuous
timestamps (``MEAS:ARR:TST?``). Errors: ``SYST:ERR?`` after every command.
"""

from collections import namedtuple

import numpy as np
from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import QnuInstrument, ScpiErrorQueue
from .errors import SettingRefused

__all__ = ["Keysight53220A", "Keysight53230A", "Statistics"]

Statistics = namedtuple("Statistics", "mean std min max")
MAX_READINGS = 1_000_000


class CounterInput(Channel):
    """Input 1 or 2 (``counter.ch_1``)."""

    level = Instrument.control("INP{ch}:LEV?", "INP{ch}:LEV %.4f", "Threshold, V (-5 to 5).",
                               validator=strict_range, values=(-5.0, 5.0))
    slope = Instrument.control("INP{ch}:SLOP?", "INP{ch}:SLOP %s", "The edge counted: POS or NEG.",
                               validator=strict_discrete_set, values=("POS", "NEG"))
    impedance = Instrument.control("INP{ch}:IMP?", "INP{ch}:IMP %g", "Input impedance, ohms: 50 or 1e6.",
                                   validator=strict_discrete_set, values=(50, 1e6))
    coupling = Instrument.control("INP{ch}:COUP?", "INP{ch}:COUP %s", "AC or DC.",
                                  validator=strict_discrete_set, values=("AC", "DC"))


class Keysight53220A(ScpiErrorQueue, QnuInstrument):
    MODEL = "53220A"
    IDENTITY = r"(Agilent|Keysight) Technologies,\s*53220A"

    ch_1 = Instrument.ChannelCreator(CounterInput, 1)
    ch_2 = Instrument.ChannelCreator(CounterInput, 2)

    sample_count = Instrument.control("SAMP:COUN?", "SAMP:COUN %d", "Readings per measurement.",
                                      validator=strict_range, values=(1, MAX_READINGS), cast=int)
    statistics_enabled = Instrument.control(
        "CALC:AVER:STAT?", "CALC:AVER:STAT %d", "Whether the counter keeps statistics of its readings.",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True, cast=int)

    def channel(self, number):
        if number not in (1, 2):
            raise SettingRefused(self.name, f"no input {number}: 1 or 2")
        return self.ch_1 if number == 1 else self.ch_2

    def _edges(self, channel, level, slope):
        ch = self.channel(channel)
        if level is not None:
            ch.level = level
        if slope is not None:
            ch.slope = slope

    def time_interval(self, count=1, *, levels=(None, None), slopes=("POS", "POS")):
        """``count`` time intervals from an edge on input 1 to the next on input 2, s (an array)."""
        self._check_count(count)
        self.write("CONF:TINT (@1),(@2)")
        for channel, level, slope in zip((1, 2), levels, slopes):
            self._edges(channel, level, slope)
        self.sample_count = count
        return self.readings()

    def frequency(self, channel=1, count=1, *, level=None):
        """``count`` frequency readings of an input, Hz (an array)."""
        self._check_count(count)
        self.channel(channel)
        self.write(f"CONF:FREQ (@{channel})")
        self._edges(channel, level, None)
        self.sample_count = count
        return self.readings()

    def readings(self):
        """Start a measurement and read all its readings (``READ?``)."""
        return np.array(self.values("READ?"), dtype=float)

    def statistics(self):
        """The counter's statistics over its readings since they were enabled or cleared."""
        return Statistics(*(float(v) for v in self.values("CALC:AVER:ALL?")))

    def clear_statistics(self):
        self.write("CALC:AVER:CLE")

    def timestamps(self, count, channel=1):
        raise SettingRefused(self.name, "the 53220A keeps no timestamps: a 53230A does")

    def _check_count(self, count):
        if not 1 <= count <= MAX_READINGS:
            raise SettingRefused(self.name, f"1 to {MAX_READINGS} readings, not {count}")


class Keysight53230A(Keysight53220A):
    MODEL = "53230A"
    IDENTITY = r"(Agilent|Keysight) Technologies,\s*53230A"

    def timestamps(self, count, channel=1):
        """``count`` timestamps of an input's edges, s since the first (an array)."""
        self._check_count(count)
        self.channel(channel)
        return np.array(self.values(f"MEAS:ARR:TST? {count},(@{channel})"), dtype=float)
