"""Bench instruments through VISA: PyMeasure drivers with identification, error
queues read after every command, and named errors (``qnu.host.instruments``).

Open one with :func:`open_instrument` (a VISA resource string, the simulated
ones ``qnu sim serve`` prints included) or a driver class directly.
"""

from .errors import (InstrumentError, WrongInstrument, InstrumentReportedError, InstrumentTimeout,
                     InstrumentLost, SettingRefused)
from .dg645 import DG645
from .keysight33500 import Keysight33500B, Keysight33600A
from .keysight53200 import Keysight53220A, Keysight53230A
from .oscilloscope import ScpiOscilloscope
from .fs725 import FS725

__all__ = ["DG645", "Keysight33500B", "Keysight33600A", "Keysight53220A", "Keysight53230A",
           "ScpiOscilloscope", "FS725", "DRIVERS", "open_instrument",
           "InstrumentError", "WrongInstrument", "InstrumentReportedError", "InstrumentTimeout",
           "InstrumentLost", "SettingRefused"]

DRIVERS = {"dg645": DG645, "33500b": Keysight33500B, "33600a": Keysight33600A, "53220a": Keysight53220A,
           "53230a": Keysight53230A, "scope": ScpiOscilloscope, "fs725": FS725}


def open_instrument(kind, resource, *, timeout_ms=2000, visa_library="@py", **kwargs):
    """Connect to a ``kind`` (a key of DRIVERS) at a VISA ``resource``; it must
    identify as one. Messages end as the driver's ``TERMINATION`` says (a
    line feed but for the FS725's carriage return); ``visa_library`` "@py" is pyvisa-py, a
    YAML file and "@sim" pyvisa-sim."""
    try:
        driver = DRIVERS[kind.lower()]
    except KeyError:
        raise ValueError(f"no instrument kind {kind!r}: one of {', '.join(DRIVERS)}") from None
    end = driver.TERMINATION
    return driver(resource, timeout=timeout_ms, visa_library=visa_library, read_termination=end,
                  write_termination=end, **kwargs)
