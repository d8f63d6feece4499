"""A generic SCPI oscilloscope (the Keysight InfiniiVision dialect, which many share).

Delay between two channels' edges (``:MEAS:DEL?``), its statistics over the
acquisitions (``:MEAS:STAT:RES?``), each channel's scale and offset, the edge
trigger, and waveform transfer in ASCII (``:WAV:PRE?``, ``:WAV:DATA?``).
Any instrument that answers ``*IDN?`` is accepted: the dialect is checked by
the commands themselves, whose errors ``:SYST:ERR?`` reports.
"""

from collections import namedtuple

import numpy as np
from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import QnuInstrument, ScpiErrorQueue
from .errors import InstrumentError, SettingRefused

__all__ = ["ScpiOscilloscope", "DelayStatistics", "Waveform"]

DelayStatistics = namedtuple("DelayStatistics", "current min max mean std count")
Waveform = namedtuple("Waveform", "time_s volts")


class ScopeChannel(Channel):
    scale = Instrument.control(":CHAN{ch}:SCAL?", ":CHAN{ch}:SCAL %.6e", "Vertical scale, V/div.",
                               validator=strict_range, values=(1e-3, 10.0))
    offset = Instrument.control(":CHAN{ch}:OFFS?", ":CHAN{ch}:OFFS %.6e", "Vertical offset, V.",
                                validator=strict_range, values=(-100.0, 100.0))
    display = Instrument.control(":CHAN{ch}:DISP?", ":CHAN{ch}:DISP %d", "Whether the channel is shown.",
                                 validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
                                 cast=int)


class ScpiOscilloscope(ScpiErrorQueue, QnuInstrument):
    MODEL = "oscilloscope"
    ERROR_QUERY = ":SYST:ERR?"
    CHANNELS = 4

    ch_1 = Instrument.ChannelCreator(ScopeChannel, 1)
    ch_2 = Instrument.ChannelCreator(ScopeChannel, 2)
    ch_3 = Instrument.ChannelCreator(ScopeChannel, 3)
    ch_4 = Instrument.ChannelCreator(ScopeChannel, 4)

    timebase_scale = Instrument.control(":TIM:SCAL?", ":TIM:SCAL %.6e", "Horizontal scale, s/div.",
                                        validator=strict_range, values=(1e-12, 50.0))
    trigger_source = Instrument.control(":TRIG:EDGE:SOUR?", ":TRIG:EDGE:SOUR %s", "CHAN1 ... CHAN4 or EXT.",
                                        validator=strict_discrete_set,
                                        values=("CHAN1", "CHAN2", "CHAN3", "CHAN4", "EXT"))
    trigger_level = Instrument.control(":TRIG:EDGE:LEV?", ":TRIG:EDGE:LEV %.4f", "Edge trigger level, V.",
                                       validator=strict_range, values=(-100.0, 100.0))
    trigger_slope = Instrument.control(":TRIG:EDGE:SLOP?", ":TRIG:EDGE:SLOP %s", "POS or NEG.",
                                       validator=strict_discrete_set, values=("POS", "NEG"))

    def _source(self, channel):
        if not 1 <= channel <= self.CHANNELS:
            raise SettingRefused(self.name, f"no channel {channel}: 1 to {self.CHANNELS}")
        return f"CHAN{channel}"

    def delay(self, start=1, stop=2):
        """Delay from ``start``'s edge to ``stop``'s in the last acquisition, s."""
        return float(self.ask(f":MEAS:DEL? {self._source(start)},{self._source(stop)}"))

    def delay_statistics(self, start=1, stop=2):
        """The delay's statistics over the acquisitions since the measurement was added."""
        self.write(":MEAS:CLE")
        self.write(":MEAS:STAT ON")
        self.write(f":MEAS:DEL {self._source(start)},{self._source(stop)}")
        fields = self.ask(":MEAS:STAT:RES?").strip().split(",")
        if len(fields) != 7:
            raise InstrumentError(self.name, f"statistics of one measurement have 7 fields, not {fields!r}")
        *numbers, count = fields[1:]
        return DelayStatistics(*(float(v) for v in numbers), int(float(count)))

    def waveform(self, channel=1):
        """The channel's last acquisition: times and volts (arrays), from the preamble's scales."""
        self.write(f":WAV:SOUR {self._source(channel)}")
        self.write(":WAV:FORM ASC")
        pre = [float(v) for v in self.ask(":WAV:PRE?").split(",")]
        points, x_increment, x_origin, x_reference = int(pre[2]), pre[4], pre[5], pre[6]
        data = self.ask(":WAV:DATA?").strip()
        if data.startswith("#"):                # an IEEE 488.2 block header before the ASCII values
            data = data[2 + int(data[1]):]
        volts = np.array([float(v) for v in data.split(",") if v.strip()])
        if len(volts) != points:
            raise InstrumentError(self.name, f"the preamble promised {points} points, the data held {len(volts)}")
        return Waveform(x_origin + (np.arange(points) - x_reference) * x_increment, volts)
