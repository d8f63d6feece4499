"""Node-to-node sync from the host: ``dev.sync`` (docs/sync.md).

    dev.sync.configure(up=(0, 0), follow=True)        # frames out on output 0, in on input 0
    dev.sync.status()    # SyncStatus(state=LOCKED, offset_ps=..., delay_ps=..., rate_ppb=..., ...)

A node has two ports of the peer link: ``up`` (towards its leader: with
``follow`` the servo steers this node's timebase to that peer's time) and
``down`` (towards its followers). Each is a trigger output the frames leave
on and an input they come in on. A leader enables ``down`` only; a middle
node of a tree ``up`` with ``follow`` and ``down``; a last follower ``up``
with ``follow``.
"""

from dataclasses import dataclass

from qnu.sync import (ServoState, SUBTICK_BITS, RATE_BITS, INTERVAL_LOG2_RANGE, DEFAULT_KP_SHIFT, DEFAULT_KI_SHIFT,
                      DEFAULT_GEAR, asymmetry_ratio, to_signed)

from .errors import QnuError

__all__ = ["Sync", "sync_registers", "SyncStatus", "SyncRefused", "ServoState"]

_COUNTED = ("exchanges", "steps", "bad_exchanges", "exchanges_lost",
            *(f"{port}_{what}" for port in ("up", "down") for what in ("frames", "crc_errors", "framing_errors",
                                                                       "overruns")))


class SyncRefused(QnuError, ValueError):
    """A sync setting the node cannot take (checked before anything is sent)."""


@dataclass(frozen=True)
class SyncStatus:
    state: ServoState
    offset_ps: float            # the up peer's time less ours, at the last exchange
    delay_ps: float             # from our departure to the up peer's arrival, at the last exchange
    rate_ppb: float             # the rate trim: parts per billion added to the time's rate
    locked_for_s: float         # time since the servo locked (0 unless locked)
    up_link: bool               # a good frame came on the up port lately
    down_link: bool
    peer_state: ServoState      # the up peer's servo state, from its last frame
    counts: dict                # every counter of the block, by name


def sync_registers(*, outputs, channels, bin_ps, up=None, down=None, follow=False, interval_log2=10,
                   kp_shift=DEFAULT_KP_SHIFT, ki_shift=DEFAULT_KI_SHIFT, gear=DEFAULT_GEAR, step_threshold_ps=None, lock_threshold_ps=None, lock_count=8, holdover_intervals=4,
                   fixed_there_ps=0.0, fixed_back_ps=0.0, alpha=0.0):
    """The sync block's register values for :meth:`Sync.configure`'s settings, on a
    node with ``outputs`` trigger outputs, ``channels`` inputs and ticks of
    ``bin_ps``: ``{"sync_ctrl": ..., ...}``. SyncRefused for a setting it cannot take."""
    if follow and up is None:
        raise SyncRefused("follow needs the up port: give up=(output, input)")
    if interval_log2 not in INTERVAL_LOG2_RANGE:
        raise SyncRefused(f"interval_log2 must be {INTERVAL_LOG2_RANGE.start} to {INTERVAL_LOG2_RANGE.stop - 1}, "
                          f"not {interval_log2}")
    for name, shift in (("kp_shift", kp_shift), ("ki_shift", ki_shift)):
        if not 0 <= shift < 32:
            raise SyncRefused(f"{name} must be 0 to 31, not {shift}")
    if not 0 <= gear <= 7 or ki_shift + 2 * gear > 31:
        raise SyncRefused(f"gear must be 0 to 7 with ki_shift + 2 gear under 32, not {gear}")
    for name, limit in (("lock_count", 255), ("holdover_intervals", 255)):
        value = locals()[name]
        if not 1 <= value <= limit:
            raise SyncRefused(f"{name} must be 1 to {limit}, not {value}")
    if not -0.5 < alpha < 1:
        raise SyncRefused(f"alpha is a fibre's asymmetry (about 2.5e-4), not {alpha}")
    pins = {}
    for name, port in (("up", up), ("down", down)):
        if port is None:
            continue
        output, channel = port
        if not 0 <= output < outputs:
            raise SyncRefused(f"{name} port: output {output} does not exist ({outputs} outputs)")
        if not 0 <= channel < channels:
            raise SyncRefused(f"{name} port: input {channel} does not exist ({channels} inputs)")
        pins[f"sync_{name}_pins"] = output | channel << 8
    step = 64 if step_threshold_ps is None else round(step_threshold_ps / bin_ps)
    lock = 1 << SUBTICK_BITS if lock_threshold_ps is None else \
        round(lock_threshold_ps / bin_ps * (1 << SUBTICK_BITS))
    if not 1 <= step < 1 << 24:
        raise SyncRefused(f"step_threshold_ps is 1 to {(1 << 24) - 1} ticks of {bin_ps:g} ps, not {step} ticks")
    if not 1 <= lock < 1 << 32:
        raise SyncRefused("lock_threshold_ps must be a positive part of a tick to 65535 ticks")
    fixed = {}
    for name, ps in (("there", fixed_there_ps), ("back", fixed_back_ps)):
        value = round(ps / bin_ps * (1 << SUBTICK_BITS))
        if not -(1 << 31) <= value < 1 << 31:
            raise SyncRefused(f"fixed_{name}_ps is out of range: {ps} ps")
        fixed[f"sync_fixed_{name}"] = value & 0xFFFF_FFFF
    ctrl = (up is not None) | (bool(follow) << 1) | ((down is not None) << 2) | interval_log2 << 8 | \
        kp_shift << 16 | ki_shift << 24 | gear << 29
    return {"sync_ctrl": ctrl, **pins, "sync_step": step, "sync_lock_threshold": lock,
            "sync_lock": lock_count | holdover_intervals << 8, **fixed, "sync_ratio": asymmetry_ratio(alpha)}


class Sync:
    """The sync block of one node (its ``features`` has ``sync``)."""

    def __init__(self, device):
        self._dev = device

    def configure(self, **settings):
        """Program and start the ports and the servo.

        ``up``, ``down``: (trigger output, input) of each port, or None (off).
        ``follow`` steers the timebase to the up port's peer (it needs ``up``).
        ``kp_shift``, ``ki_shift``: the PI gains 2**-N per exchange while
        acquiring; once locked they drop a gear at a time, ``gear`` in all
        (docs/sync.md). ``step_threshold_ps`` (default 64 ticks): an offset
        this large or larger is stepped. ``lock_threshold_ps`` (default one
        tick): the offsets' running average under it counts towards lock,
        ``lock_count`` exchanges in a row. ``fixed_there_ps``: this node's transmit
        latency plus the up peer's receive latency; ``fixed_back_ps`` the
        peer's transmit plus this node's receive latency; ``alpha`` the fibre's
        asymmetry (``qnu sync calibrate`` measures the latencies)."""
        dev = self._dev
        values = sync_registers(outputs=dev.features.outputs, channels=dev.channels,
                                bin_ps=float(dev.clock.bin_ps), **settings)
        ctrl = values.pop("sync_ctrl")
        dev.regs.write({"sync_ctrl": ctrl & ~0b111})       # (ports off: the servo starts afresh)
        dev.regs.write(values)
        dev.regs.write({"sync_ctrl": ctrl})

    def disable(self):
        """Both ports off, the servo free (the timebase keeps its time and runs at its own rate)."""
        self._dev.regs.write({"sync_ctrl": self._dev.regs.map["sync_ctrl"].reset})

    def counts(self):
        """Every counter of the block since power-up (wrapping at 2**32), by name."""
        values = self._dev.regs.read(*(f"sync_{name}" for name in _COUNTED))
        return {name: values[f"sync_{name}"] for name in _COUNTED}

    def status(self):
        dev = self._dev
        bin_ps = float(dev.clock.bin_ps)
        # (one burst, in address order: the read of sync_offset_lo latches the words after it)
        status, offset_lo, offset_hi, delay_lo, delay_hi, rate, locked_for = dev.regs.read(
            "sync_status", "sync_offset_lo", "sync_offset_hi", "sync_delay_lo", "sync_delay_hi", "sync_rate",
            "sync_locked_for").values()
        sub = bin_ps / (1 << SUBTICK_BITS)
        n = dev.clock.samples_per_cycle
        return SyncStatus(
            state=ServoState(status & 3),
            offset_ps=to_signed(offset_hi << 32 | offset_lo, 64) * sub,
            delay_ps=to_signed(delay_hi << 32 | delay_lo, 64) * sub,
            rate_ppb=to_signed(rate, 32) / (1 << RATE_BITS) / n * 1e9,
            locked_for_s=locked_for / dev.clock.clock_hz,
            up_link=bool(status >> 4 & 1), down_link=bool(status >> 5 & 1),
            peer_state=ServoState(status >> 17 & 3),
            counts=self.counts())
