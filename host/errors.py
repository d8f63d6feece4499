"""Exceptions of the host library: one class per thing a user can act on."""

import errno

from qnu.errors import QnuError
from qnu.wire import ErrorCode

__all__ = ["QnuError", "PortError", "LinkTimeout", "LinkLost", "CrcErrors", "VersionMismatch",
           "DeviceError", "TimeChangeRefused", "AccessError", "UnknownRegister", "SequencerLate",
           "SequencerFull", "AttemptsRefused"]


class PortError(QnuError):
    """The serial port could not be opened: not found, busy, or not permitted."""

    def __init__(self, port, cause):
        self.port = port
        self.cause = cause
        self.errno = _errno_of(cause)
        super().__init__(f"cannot open {port}: {self._likely_cause()} ({cause})")

    def _likely_cause(self):
        text = str(self.cause).lower()
        if self.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return ("no such port (is the board plugged in, or `qnu sim serve` running? "
                    "`python -m serial.tools.list_ports` lists the ports)")
        if self.errno in (errno.EBUSY, errno.EAGAIN) or "lock" in text:
            return "the port is busy: another program (a terminal, another qnu) has it open"
        if self.errno in (errno.EACCES, errno.EPERM):
            return "permission denied (on Linux, add your user to the dialout group)"
        if self.errno == errno.ECONNREFUSED:
            return "connection refused: nothing listens at that address"
        if "invalid url" in text:
            return "neither a port path nor a pyserial URL this pyserial knows"
        return "the port could not be opened"


def _errno_of(error):
    """The errno of an exception or of the OSError it was raised from (pyserial wraps them)."""
    while error is not None:
        if getattr(error, "errno", None) is not None:
            return error.errno
        error = error.__cause__ or error.__context__
    return None


class LinkTimeout(QnuError):
    """The node did not answer in time."""


class LinkLost(QnuError):
    """The port vanished mid-stream (cable pulled, board reset, virtual board stopped)."""

    def __init__(self, message, partial=None):
        super().__init__(message)
        self.partial = list(partial or [])


class CrcErrors(QnuError):
    """Too many consecutive corrupt frames from the node to trust the link."""

    def __init__(self, port, count, baudrate=None):
        self.port, self.count = port, count
        rate = f" (host at {baudrate} baud)" if baudrate else ""
        super().__init__(f"{count} consecutive corrupt frames (bad CRC or framing) from {port}: "
                         f"check that host and node use the same baud rate{rate}, and the cable")


class VersionMismatch(QnuError):
    """The node speaks another protocol version than this host library."""

    def __init__(self, port, node_version, host_version):
        self.port, self.node_version, self.host_version = port, node_version, host_version
        fix = ("update the host library (pip install -U qnu)" if node_version > host_version
               else "rebuild and flash the gateware from this qnu version (qnu build, qnu flash)")
        super().__init__(f"the node at {port} speaks protocol version {node_version}, this host library "
                         f"speaks version {host_version}: {fix}")


class DeviceError(QnuError):
    """The node refused a request with an ERROR reply; nothing of it was applied.

    ``code`` is the node's :class:`qnu.wire.ErrorCode` (an int if unknown to
    this host), ``detail`` its detail word. ``by_host`` is true when the host
    refused the request on the node's behalf, without sending it.
    """

    def __init__(self, code, detail=0, *, request="", register=None, by_host=False):
        self.code, self.detail, self.register, self.by_host = code, detail, register, by_host
        if isinstance(code, ErrorCode):
            what = f"{code.name} ({code.meaning})"
        else:
            what = f"unknown error code {code}"
        who = "refused by the host before sending" if by_host else "refused by the node"
        where = f", register {register!r}" if register else ""
        super().__init__(f"{request or 'request'} {who}: {what}; detail {detail:#06x}{where}")


class TimeChangeRefused(DeviceError):
    """A node that stamps events after merging them (a small FPGA's) refused a
    time load or step: events tagged before its previous time change are still
    queued, and would be stamped with the wrong time. They leave as the host
    reads events; the host retried for a while before giving up."""


class AccessError(QnuError):
    """A register access that the register map forbids (reading a write-only register)."""


class UnknownRegister(QnuError, KeyError, AttributeError):
    """No register of that name; the message suggests close matches.

    A KeyError for ``regs["name"]`` and an AttributeError for ``regs.name``,
    so ``hasattr`` and ``getattr(..., default)`` behave.
    """

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class SequencerLate(QnuError):
    """The sequencer found output events whose tick had already passed when they
    reached the head of their queue: they were not played (never played late).

    ``count`` events were late since the last check; the first of them was on
    ``output`` at ``time_ticks``, ``late_by_ticks`` behind the node's plan
    (``time_ps`` and ``late_by_ps`` in host units)."""

    def __init__(self, count, output, time_ticks, late_by_ticks, clock):
        self.count, self.output = count, output
        self.time_ticks, self.late_by_ticks = time_ticks, late_by_ticks
        self.time_ps = int(clock.to_ps(time_ticks))
        self.late_by_ps = round(late_by_ticks * clock.bin_ps)
        super().__init__(f"{count} output event(s) late, not played: the first on output {output} at tick "
                         f"{time_ticks} ({self.time_ps} ps), {late_by_ticks} ticks ({self.late_by_ps} ps) late. "
                         f"Schedule further ahead of the node's time, or fewer events per output per cycle.")


class SequencerFull(DeviceError):
    """The node refused a SCHEDULE frame because an output's queue could not take
    its events (QUEUE_FULL); nothing of that frame was queued. ``queued`` events of
    the same call went in before it."""

    def __init__(self, code, detail, *, queued, request=""):
        self.queued = queued
        super().__init__(code, detail, request=request)


class AttemptsRefused(QnuError):
    """The node refused to start the attempt loop: the period is shorter than a core
    cycle, or a pulse of the pattern does not end within the period."""


class HeraldRefused(QnuError, ValueError):
    """A herald configuration the node cannot follow (or refused): the message says which setting and why."""
