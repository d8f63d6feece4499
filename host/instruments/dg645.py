"""Stanford Research Systems DG645 digital delay generator.

Commands from the DG645 manual (remote programming chapter): ``DLAY c,d,t``
sets channel ``c``'s delay to ``t`` seconds after channel ``d``; ``TSRC``,
``TRAT``, ``TLVL`` the trigger; ``BURM``/``BURC``/``BURP``/``BURD`` bursts;
``LAMP``/``LOFF``/``LPOL`` an output's level, offset and polarity; ``LERR?``
the oldest error code in the queue (0: none). Identification: ``*IDN?``.
"""

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from qnu.manuals import (DG645_DELAY_CHANNELS as DELAY_CHANNELS, DG645_OUTPUTS as OUTPUTS,
                         DG645_TRIGGER_SOURCES as TRIGGER_SOURCES, DG645_ERRORS as ERRORS,
                         DG645_MAX_DELAY_S as MAX_DELAY_S)

from .base import QnuInstrument
from .errors import SettingRefused

__all__ = ["DG645", "DELAY_CHANNELS", "OUTPUTS", "TRIGGER_SOURCES", "ERRORS"]

_CHANNEL_NAMES = {v: k for k, v in DELAY_CHANNELS.items()}


def _delay_value(value, values):
    """(reference channel name, seconds) -> DLAY's arguments, checked."""
    try:
        reference, seconds = value
    except (TypeError, ValueError):
        raise SettingRefused("DG645", f"a delay is (reference channel, seconds), not {value!r}") from None
    if reference not in DELAY_CHANNELS:
        raise SettingRefused("DG645", f"no channel {reference!r}: one of {', '.join(DELAY_CHANNELS)}")
    if not -MAX_DELAY_S <= seconds <= MAX_DELAY_S:
        raise SettingRefused("DG645", f"a delay is at most {MAX_DELAY_S:g} s, not {seconds!r}")
    return DELAY_CHANNELS[reference], float(seconds)


class DelayChannel(Channel):
    """One of the DG645's delay channels (``dg.A`` ... ``dg.H``)."""

    delay = Instrument.control(
        "DLAY?{ch}", "DLAY {ch},%d,%.12e",
        """The channel's delay: ``(reference, seconds)``, the reference a channel name
        ('T0', 'A', ...); resolution 5 ps.""",
        validator=_delay_value,
        get_process_list=lambda v: (_CHANNEL_NAMES[int(v[0])], float(v[1])),
    )


class Output(Channel):
    """One of the DG645's BNC outputs (``dg.out_AB`` ...): level, offset, polarity."""

    amplitude = Instrument.control("LAMP?{ch}", "LAMP {ch},%.2f", "Output amplitude, V (0.5 to 5).",
                        validator=strict_range, values=(0.5, 5.0))
    offset = Instrument.control("LOFF?{ch}", "LOFF {ch},%.2f", "Output offset, V (-2 to 2).",
                     validator=strict_range, values=(-2.0, 2.0))
    positive = Instrument.control("LPOL?{ch}", "LPOL {ch},%d", "Output polarity: True for positive pulses.",
                       validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
                       cast=int)


class DG645(QnuInstrument):
    """An SRS DG645 on a VISA resource (GPIB, RS-232 or its LAN port, socket 5025)."""

    MODEL = "DG645"
    IDENTITY = r"Stanford Research Systems,\s*DG645"

    # the delay channels (T0 is the trigger itself: it has no delay)
    T1 = QnuInstrument.ChannelCreator(DelayChannel, 1)
    A = QnuInstrument.ChannelCreator(DelayChannel, 2)
    B = QnuInstrument.ChannelCreator(DelayChannel, 3)
    C = QnuInstrument.ChannelCreator(DelayChannel, 4)
    D = QnuInstrument.ChannelCreator(DelayChannel, 5)
    E = QnuInstrument.ChannelCreator(DelayChannel, 6)
    F = QnuInstrument.ChannelCreator(DelayChannel, 7)
    G = QnuInstrument.ChannelCreator(DelayChannel, 8)
    H = QnuInstrument.ChannelCreator(DelayChannel, 9)
    # the BNC outputs
    out_T0 = QnuInstrument.ChannelCreator(Output, 0)
    out_AB = QnuInstrument.ChannelCreator(Output, 1)
    out_CD = QnuInstrument.ChannelCreator(Output, 2)
    out_EF = QnuInstrument.ChannelCreator(Output, 3)
    out_GH = QnuInstrument.ChannelCreator(Output, 4)

    def channel(self, name):
        """A delay channel by name ('A' ... 'H', 'T1')."""
        if name not in DELAY_CHANNELS or name == "T0":
            raise SettingRefused(self.name, f"no delay channel {name!r}: one of T1, A, B, ..., H")
        return getattr(self, name)

    def read_errors(self):
        errors = []
        for _ in range(len(ERRORS) + 1):        # (the queue holds at most 20; stop on a stuck answer)
            code = int(self.ask_quietly("LERR?").strip())
            if code == 0:
                break
            errors.append((code, ERRORS.get(code, "unknown error")))
        return errors

    trigger_source = Instrument.control(
        "TSRC?", "TSRC %d", f"The trigger source: one of {', '.join(TRIGGER_SOURCES)}.",
        validator=strict_discrete_set, values=TRIGGER_SOURCES, map_values=True, cast=int)
    trigger_rate = Instrument.control("TRAT?", "TRAT %.6e", "The internal trigger rate, Hz (100 uHz to 10 MHz).",
                           validator=strict_range, values=(100e-6, 10e6))
    trigger_level = Instrument.control("TLVL?", "TLVL %.2f", "The external trigger's threshold, V (-3.5 to 3.5).",
                            validator=strict_range, values=(-3.5, 3.5))
    burst = Instrument.control("BURM?", "BURM %d", "Burst mode on (True) or off.",
                    validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True, cast=int)
    burst_count = Instrument.control("BURC?", "BURC %d", "Triggers per burst (1 to 2**32 - 1).",
                          validator=strict_range, values=(1, 2 ** 32 - 1), cast=int)
    burst_period = Instrument.control("BURP?", "BURP %.12e", "Time between a burst's triggers, s (100 ns to 42.9 s).",
                           validator=strict_range, values=(100e-9, 42.9))
    burst_delay = Instrument.control("BURD?", "BURD %.12e", "Delay from the burst's trigger to its first, s.",
                          validator=strict_range, values=(0.0, MAX_DELAY_S))

    def trigger(self):
        """A single-shot trigger (``*TRG``; the source must be a single-shot one)."""
        self.write("*TRG")
        self.check_errors()

    def clear(self):
        """Clear the status registers and the error queue (``*CLS``)."""
        self.write("*CLS")

