"""What every QNU instrument driver shares, on top of PyMeasure's :class:`Instrument`:

- identification on connect: the wrong instrument is refused with a clear message;
- the error queue read after every command that is not a query (PyMeasure's
  own properties included), an error raised as
  :class:`InstrumentReportedError` with the instrument's own text;
- timeouts and a broken connection as :class:`InstrumentTimeout` and
  :class:`InstrumentLost`, naming the instrument;
- :meth:`apply`: several settings as one, undone if the instrument refuses one,
  so that a refused change leaves nothing half-set.
"""

import logging
import re

from pymeasure.instruments import Instrument
from pyvisa import constants
from pyvisa.errors import VisaIOError

from .errors import InstrumentLost, InstrumentReportedError, InstrumentTimeout, WrongInstrument

__all__ = ["QnuInstrument", "ScpiErrorQueue"]

log = logging.getLogger(__name__)


class QnuInstrument(Instrument):
    """A driver's base. Subclasses give ``IDENTITY`` (a regular expression the
    identification answer must match, searched case-insensitively),
    ``IDENTITY_QUERY`` (``*IDN?`` unless the instrument has another) and
    :meth:`read_errors`."""

    IDENTITY = None
    IDENTITY_QUERY = "*IDN?"
    MODEL = "instrument"
    TERMINATION = "\n"             # what ends a message both ways (open_instrument's default)
    _last_command = None            # the last setting sent (errors are reported after it)
    _last_sent = None               # the last command or query sent (timeouts name it)

    def __init__(self, adapter, name=None, *, identify=True, **kwargs):
        kwargs.setdefault("includeSCPI", False)
        super().__init__(adapter, name or self.MODEL, **kwargs)
        self.identity = self.identify() if identify else None

    # --- identification --------------------------------------------------------

    def identify(self):
        """Ask the instrument who it is; refuse it unless it is a ``MODEL``."""
        answer = self.ask(self.IDENTITY_QUERY).strip()
        if self.IDENTITY and not re.search(self.IDENTITY, answer, re.IGNORECASE):
            raise WrongInstrument(self.name, self.MODEL, answer)
        return answer

    # --- errors ------------------------------------------------------------------

    def read_errors(self):
        """Empty the instrument's error queue: a list of ``(code, text)``
        (subclasses ask with :meth:`ask_quietly`)."""
        raise NotImplementedError

    def ask_quietly(self, command):
        """A query that leaves the command an error is reported after alone (error queries)."""
        self._last_sent = command
        self._guarded(Instrument.write, self, command)
        return self.read()

    def check_errors(self):
        errors = self.read_errors()
        if errors:
            raise InstrumentReportedError(self.name, errors, self._last_command)
        return []

    # --- the connection ------------------------------------------------------------

    def write(self, command, **kwargs):
        self._last_sent = command
        self._guarded(super().write, command, **kwargs)
        if "?" not in command:
            self._last_command = command
            self.check_errors()

    def read(self, **kwargs):
        return self._guarded(super().read, **kwargs)

    def _guarded(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except VisaIOError as e:
            if e.error_code == constants.StatusCode.error_timeout:
                raise InstrumentTimeout(self.name, f"no answer to {self._last_sent!r} within the timeout") \
                    from e
            raise InstrumentLost(self.name, f"the connection failed ({e.abbreviation})") from e
        except (ConnectionError, EOFError, OSError) as e:
            raise InstrumentLost(self.name, f"the connection failed ({e})") from e

    # --- several settings as one ---------------------------------------------------

    def apply(self, target, **settings):
        """Set ``target``'s properties (an instrument or one of its channels) in
        order; if the driver's validator or the instrument refuses one, set
        back those already changed (to the values read before) and raise."""
        for name, value in settings.items():
            prop = getattr(type(target), name)
            if getattr(prop, "fset", None) is None:
                raise AttributeError(f"{type(target).__name__}.{name} cannot be set")
        before = {name: getattr(target, name) for name in settings}
        done = []
        try:
            for name, value in settings.items():
                setattr(target, name, value)
                done.append(name)
        except Exception:
            for name in reversed(done):
                try:
                    setattr(target, name, before[name])
                except Exception as restore_error:         # (the first error is the one to raise)
                    log.error("%s: could not restore %s: %s", self.name, name, restore_error)
            raise


class ScpiErrorQueue:
    """``read_errors`` for SCPI instruments: ``SYST:ERR?`` until it answers 0."""

    ERROR_QUERY = "SYST:ERR?"
    MAX_ERRORS = 32                 # (a queue is at most this deep; stops a stuck answer)

    def read_errors(self):
        errors = []
        for _ in range(self.MAX_ERRORS):
            answer = self.ask_quietly(self.ERROR_QUERY).strip()
            code, _, text = answer.partition(",")
            if int(code) == 0:
                break
            errors.append((int(code), text.strip().strip('"')))
        return errors
