"""What can go wrong with a bench instrument, by name."""

__all__ = ["InstrumentError", "WrongInstrument", "InstrumentReportedError", "InstrumentTimeout",
           "InstrumentLost", "SettingRefused"]


class InstrumentError(Exception):
    """Anything an instrument driver raises; ``instrument`` names the instrument."""

    def __init__(self, instrument, message):
        super().__init__(f"{instrument}: {message}")
        self.instrument = instrument


class WrongInstrument(InstrumentError):
    """The resource answered its identification as another instrument."""

    def __init__(self, instrument, expected, identity):
        super().__init__(instrument, f"expected {expected}, but the instrument identifies as {identity!r}")
        self.expected, self.identity = expected, identity


class InstrumentReportedError(InstrumentError):
    """The instrument's error queue held errors after a command: ``errors`` is a list of
    ``(code, text)``, the text the instrument's own (or its manual's, for code-only queues)."""

    def __init__(self, instrument, errors, command=None):
        listed = "; ".join(f"{code} {text}" for code, text in errors)
        after = f" after {command!r}" if command else ""
        super().__init__(instrument, f"the instrument reported{after}: {listed}")
        self.errors, self.command = list(errors), command

    @property
    def code(self):
        return self.errors[0][0]

    @property
    def text(self):
        return self.errors[0][1]


class InstrumentTimeout(InstrumentError):
    """The instrument did not answer within the session's timeout."""


class InstrumentLost(InstrumentError):
    """The connection to the instrument closed or broke."""


class SettingRefused(InstrumentError, ValueError):
    """A setting the driver refuses before sending anything (out of range, unsupported by this model)."""
