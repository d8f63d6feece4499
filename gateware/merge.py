"""Merge the channels' queues into one stream in timestamp order."""

from amaranth.hdl import Module, Signal, Mux, Const
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from .event import entry_layout, event_layout

__all__ = ["EventMerger"]


class EventMerger(wiring.Component):
    """Take, each cycle, the oldest released head among the channel queues.

    Entries are ordered by their ``key`` on the free-running local count. A
    head is *released* once its key is older than the horizon ``local -
    horizon`` fine ticks: every entry still in a channel's pipeline, or yet to
    be detected, has a key at or after the horizon, so the oldest released
    head is the oldest entry anywhere and the output is in order. Ties go to
    the lower channel. Keys are compared modulo ``2**key_width``; a head stays
    released once released, so a stalled output does not confuse the order.

    One entry leaves per cycle while ``events.ready`` is high.
    """

    def __init__(self, *, channels, key_width, horizon):
        self.channels = channels
        self.key_width = key_width
        self.horizon = horizon
        super().__init__({
            "inputs": In(stream.Signature(entry_layout(key_width))).array(channels),
            "local":  In(key_width),
            "events": Out(stream.Signature(event_layout(channels))),
        })

    def _older_or_equal(self, a, b):
        # a <= b on the wrapping key circle, for keys less than half a turn apart.
        return ~((b - a)[self.key_width - 1])

    def elaborate(self, platform):
        m = Module()
        width = self.key_width
        threshold = Signal(width)
        m.d.comb += threshold.eq(self.local - self.horizon)

        released = Signal(self.channels)
        eligible = Signal(self.channels)
        for c, port in enumerate(self.inputs):
            before_horizon = self._older_or_equal(port.payload.key, threshold) & \
                             (port.payload.key != threshold)
            m.d.comb += eligible[c].eq(port.valid & (released[c] | before_horizon))

        # Tournament: (any eligible, index) of the oldest eligible head.
        def pick(lo, hi):
            if hi - lo == 1:
                return eligible[lo], Const(lo, range(self.channels)), self.inputs[lo].payload.key
            mid = (lo + hi) // 2
            a_ok, a_idx, a_key = pick(lo, mid)
            b_ok, b_idx, b_key = pick(mid, hi)
            take_a = Signal(name=f"take_a_{lo}_{hi}")
            m.d.comb += take_a.eq(a_ok & (~b_ok | self._older_or_equal(a_key, b_key)))
            ok = Signal(name=f"ok_{lo}_{hi}")
            idx = Signal(range(self.channels), name=f"idx_{lo}_{hi}")
            key = Signal(width, name=f"key_{lo}_{hi}")
            m.d.comb += [
                ok.eq(a_ok | b_ok),
                idx.eq(Mux(take_a, a_idx, b_idx)),
                key.eq(Mux(take_a, a_key, b_key)),
            ]
            return ok, idx, key

        any_ok, winner, _ = pick(0, self.channels)

        # Output register: refilled whenever it is empty or being taken.
        take = Signal()
        m.d.comb += take.eq(any_ok & (~self.events.valid | self.events.ready))
        with m.If(self.events.valid & self.events.ready):
            m.d.sync += self.events.valid.eq(0)
        for c, port in enumerate(self.inputs):
            popped = take & (winner == c)
            m.d.comb += port.ready.eq(popped)
            m.d.sync += released[c].eq(eligible[c] & ~popped)
            with m.If(popped):
                m.d.sync += [
                    self.events.valid.eq(1),
                    self.events.payload.timestamp.eq(port.payload.timestamp),
                    self.events.payload.channel.eq(c),
                    self.events.payload.kind.eq(port.payload.kind),
                    self.events.payload.lost.eq(port.payload.lost),
                ]
        return m
