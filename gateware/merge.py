"""Merge the channels' queues into one stream in timestamp order."""

from amaranth.hdl import Module, Signal, Mux
from amaranth.lib import wiring, stream, data
from amaranth.lib.wiring import In, Out

from .event import TIME_WIDTH, LOST_WIDTH, EventKind, entry_layout, event_layout

__all__ = ["EventMerger"]


class EventMerger(wiring.Component):
    """A pipelined tree of two-input merge stages over the channel queues.

    Entries are ordered by their ``key`` on the free-running local count,
    which advances ``ticks_per_cycle`` each cycle. A queue head is offered
    once *released*: its key is older than the horizon ``local - horizon``,
    and every entry still in a channel's pipeline, or yet to be detected, has
    a key at or after that horizon.

    Each stage compares only two candidates and registers its choice, so no
    path crosses more than one comparison. With both inputs offering, the
    older goes on (ties to the lower channels, on the first input). With one
    input empty, the other goes on only once it is older than anything the
    empty side could still bring: the horizon as it was ``lag`` cycles ago,
    ``lag`` being the number of stages on the empty side. Keys are compared
    modulo ``2**key_width``, and a candidate stays cleared once cleared, so a
    long-stalled output does not confuse the order.

    One entry leaves per cycle while ``events.ready`` is high. ``depth`` is
    the number of stages (cycles) between a released head and ``events``.
    """

    def __init__(self, *, channels, key_width, horizon, ticks_per_cycle):
        self.channels = channels
        self.key_width = key_width
        self.horizon = horizon
        self.ticks_per_cycle = ticks_per_cycle
        self.depth = max(1, (channels - 1).bit_length())
        super().__init__({
            "inputs": In(stream.Signature(entry_layout(key_width))).array(channels),
            "local":  In(key_width),
            "events": Out(stream.Signature(event_layout(channels))),
        })

    def _older_or_equal(self, a, b):
        # a at or before b on the wrapping key circle (keys less than half a turn apart)
        return ~(b - a)[self.key_width - 1]

    def elaborate(self, platform):
        m = Module()
        candidate = data.StructLayout({
            "key": self.key_width, "timestamp": TIME_WIDTH,
            "channel": max(1, (self.channels - 1).bit_length()), "kind": EventKind, "lost": LOST_WIDTH,
        })
        threshold = Signal(self.key_width)
        m.d.comb += threshold.eq(self.local - self.horizon)

        def cleared(key, lag):
            # older than the horizon as it was `lag` cycles ago
            limit = threshold - lag * self.ticks_per_cycle
            return self._older_or_equal(key, limit) & (key != limit)

        def leaf(c):
            port = self.inputs[c]
            offer = stream.Signature(candidate).create(path=(f"leaf{c}",))
            released = Signal(name=f"released{c}")
            m.d.comb += [
                offer.valid.eq(port.valid & (released | cleared(port.payload.key, 0))),
                offer.payload.key.eq(port.payload.key),
                offer.payload.timestamp.eq(port.payload.timestamp),
                offer.payload.channel.eq(c),
                offer.payload.kind.eq(port.payload.kind),
                offer.payload.lost.eq(port.payload.lost),
                port.ready.eq(offer.valid & offer.ready),
            ]
            m.d.sync += released.eq(offer.valid & ~offer.ready)
            return offer, 0

        def stage(name, a, lag_a, b=None, lag_b=0):
            """Register the older of a and b (or a alone), once it is safe.

            A skid register keeps the ready towards the inputs registered, so
            no combinational path runs from the output down the tree."""
            out = stream.Signature(candidate).create(path=(name,))
            skid = Signal(candidate, name=f"{name}_skid")
            skid_valid = Signal(name=f"{name}_skid_valid")
            accept = ~skid_valid
            clear_a = Signal(name=f"{name}_clear_a")
            a_alone = a.valid & (clear_a | cleared(a.payload.key, lag_b))
            chosen = Signal(candidate, name=f"{name}_chosen")
            if b is None:
                pick_a, pick_b = a_alone, 0
                m.d.comb += chosen.eq(a.payload)
            else:
                clear_b = Signal(name=f"{name}_clear_b")
                b_alone = b.valid & (clear_b | cleared(b.payload.key, lag_a))
                a_first = self._older_or_equal(a.payload.key, b.payload.key)
                pick_a = Signal(name=f"{name}_pick_a")
                pick_b = Signal(name=f"{name}_pick_b")
                m.d.comb += [
                    pick_a.eq(Mux(b.valid, a.valid & a_first, a_alone)),
                    pick_b.eq(Mux(a.valid, b.valid & ~a_first, b_alone)),
                    b.ready.eq(accept & pick_b),
                    chosen.eq(Mux(pick_a, a.payload, b.payload)),
                ]
                m.d.sync += clear_b.eq(b_alone & ~b.ready)
            m.d.comb += a.ready.eq(accept & pick_a)
            m.d.sync += clear_a.eq(a_alone & ~a.ready)

            incoming = accept & (pick_a | pick_b)
            with m.If(out.valid & out.ready):
                with m.If(skid_valid):
                    m.d.sync += [out.payload.eq(skid), skid_valid.eq(0)]
                with m.Elif(incoming):
                    m.d.sync += out.payload.eq(chosen)
                with m.Else():
                    m.d.sync += out.valid.eq(0)
            with m.Elif(incoming):
                with m.If(out.valid):
                    m.d.sync += [skid.eq(chosen), skid_valid.eq(1)]
                with m.Else():
                    m.d.sync += [out.payload.eq(chosen), out.valid.eq(1)]
            return out, 1 + max(lag_a, lag_b)

        def tree(lo, hi):
            if hi - lo == 1:
                return leaf(lo)
            mid = (lo + hi + 1) // 2          # the first half is never the shorter
            a, lag_a = tree(lo, mid)
            b, lag_b = tree(mid, hi)
            return stage(f"merge_{lo}_{hi}", a, lag_a, b, lag_b)

        root, lag = tree(0, self.channels)
        if lag == 0:                          # a single channel: still one register
            root, lag = stage("merge_0_1", root, lag)
        assert lag == self.depth

        m.d.comb += [
            self.events.valid.eq(root.valid),
            self.events.payload.timestamp.eq(root.payload.timestamp),
            self.events.payload.channel.eq(root.payload.channel),
            self.events.payload.kind.eq(root.payload.kind),
            self.events.payload.lost.eq(root.payload.lost),
            root.ready.eq(self.events.ready),
        ]
        return m
