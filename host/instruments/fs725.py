"""Stanford Research Systems FS725 rubidium frequency standard (its PRS10 command set).

The FS725 answers the PRS10's two-letter commands over RS-232: ``ID?``,
``LO?`` (1: the 10 MHz is locked to the rubidium line), ``LM`` (lock
mode), ``PL`` (phase-lock to an external 1PPS), ``TT?`` (the 1PPS input's
time tag against the internal 1PPS, ns), ``ST?`` (six status bytes). It has
no error queue: every setting is read back, and a value that did not take is
raised as the instrument's error.

Status bytes used (PRS10 manual, status table): byte 4, the frequency
lock-loop: bit 0 its control is off, bit 1 the lock is lost; byte 5, the 1PPS
phase-lock: bit 0 disabled, bit 2 active, bit 7 no 1PPS input.
"""

from collections import namedtuple

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from .base import QnuInstrument
from .errors import InstrumentReportedError

__all__ = ["FS725", "Health"]

Health = namedtuple("Health", "locked ten_mhz_ok pps_input pps_locked status")
Health.__doc__ = ("locked: LO? says the rubidium lock holds; ten_mhz_ok: and the frequency lock-loop "
                  "reports no fault; pps_input: a 1PPS arrives at the input; pps_locked: the 1PPS "
                  "phase-lock is active; status: the six status bytes.")

_ON_OFF = {True: 1, False: 0}


class FS725(QnuInstrument):
    MODEL = "FS725"
    IDENTITY_QUERY = "ID?"
    TERMINATION = "\r"
    IDENTITY = r"^(PRS10|FS725)"

    locked = Instrument.measurement("LO?", "Whether the 10 MHz is locked to the rubidium line.",
                                    get_process=lambda v: bool(int(v)))
    status = Instrument.measurement("ST?", "The six status bytes (a list of ints).",
                                    get_process_list=lambda v: [int(x) for x in v])
    pps_time_tag_ns = Instrument.measurement("TT?", "The 1PPS input against the internal 1PPS, ns.")
    lock_mode = Instrument.control("LM?", "LM%d", "Whether the rubidium lock is enabled.",
                                   validator=strict_discrete_set, values=_ON_OFF, map_values=True, cast=int)
    pps_lock = Instrument.control("PL?", "PL%d", "Whether the oscillator phase-locks to the 1PPS input.",
                                  validator=strict_discrete_set, values=_ON_OFF, map_values=True, cast=int)

    def read_errors(self):
        return []                       # (no queue: settings are read back instead)

    def write(self, command, **kwargs):
        super().write(command, **kwargs)
        if "?" not in command:
            name, value = command[:2], command[2:]
            answer = self.ask_quietly(f"{name}?").strip()
            if answer != value:
                raise InstrumentReportedError(self.name, [(None, f"{name} reads back {answer!r}")], command)

    def health(self):
        """Lock, 10 MHz and 1PPS health in one read."""
        st = self.status
        locked = self.locked
        return Health(locked=locked, ten_mhz_ok=locked and not st[3] & 0b11,
                      pps_input=not st[4] & 0x80, pps_locked=bool(st[4] & 0x04), status=st)
