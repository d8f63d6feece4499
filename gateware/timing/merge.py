"""Merge the channels' queues into one stream in timestamp order."""

from amaranth.hdl import Array, Module, Signal, Mux
from amaranth.lib import wiring, stream, data, memory
from amaranth.lib.wiring import In, Out

from .event import TIME_WIDTH, LOST_WIDTH, EventKind, entry_layout, merged_layout

__all__ = ["Merger", "EventMerger"]


class Merger(wiring.Component):
    """What every merger is: the channel queues' heads in (``inputs``), the
    free-running local count, one stream of events out; ``depth`` registers
    (``stages(channels)``) from a queue head to ``events``. Subclasses differ
    in how they choose, not in what they are."""

    def __init__(self, *, channels, key_width, horizon, ticks_per_cycle, entry=None):
        self.channels = channels
        self.key_width = key_width
        self.horizon = horizon
        self.ticks_per_cycle = ticks_per_cycle
        self.depth = self.stages(channels)
        self.entry = entry or entry_layout(key_width)
        super().__init__({
            "inputs": In(stream.Signature(self.entry)).array(channels),
            "local":  In(key_width),
            "events": Out(stream.Signature(merged_layout(channels, self.entry))),
        })

    @staticmethod
    def stages(channels):
        raise NotImplementedError


class EventMerger(Merger):
    """A pipelined tree of two-input merge stages over the channel queues.

    Entries are ordered by their ``key`` on the free-running local count,
    which advances ``ticks_per_cycle`` each cycle (the merger relies on that
    to compute its thresholds a cycle ahead). Every entry still in a
    channel's pipeline, or yet to be detected, has a key at or after the
    horizon ``local - horizon``.

    Each queue first feeds a leaf register, which takes its head whenever it
    has room: the pop (the queue's pointer logic) then never waits on a key
    comparison. Above the leaves, each stage compares only two candidates and
    registers its choice, so no path crosses more than one comparison. With
    both inputs offering, the older goes on (ties to the lower channels, on
    the first input): each input's stream is in key order, so the merged one
    is too. With one input empty, the other goes on only once it is older
    than anything the empty side could still bring: the horizon as it was
    ``lag`` cycles ago, ``lag`` being the number of registers (leaf included)
    on the empty side. Those thresholds are registers, computed a cycle
    ahead, so a stage's decision is one subtraction deep. Keys are compared
    modulo ``2**key_width``, and a candidate stays cleared once cleared, so a
    long-stalled output does not confuse the release; two candidates are
    compared correctly while their keys are less than ``2**(key_width-1)``
    ticks apart.

    Only the key and the channel number travel through the tree: every
    stage's choice enables each of its registers, so the narrower they are
    the shorter that path. The rest of an entry (timestamp, kind, lost
    count) waits in a small per-channel FIFO, written when the leaf takes
    the entry; a channel's entries leave the tree in the order they entered
    it, so the oldest entry in channel ``c``'s FIFO belongs to the next
    channel-``c`` key out of the root. An output register joins the two.

    One entry leaves per cycle while ``events.ready`` is high. ``depth`` is
    the number of registers (cycles) between a queue head and ``events``.
    """

    #: entries per channel the payload FIFOs hold: at most two (a register
    #: and its skid) per register between a leaf and the output register
    PAYLOAD_DEPTH = 16

    @staticmethod
    def stages(channels):
        """Registers from a queue head to the output: the leaf, one per tree level,
        and the output register that joins key and payload."""
        return 2 + (channels - 1).bit_length()

    def _older_or_equal(self, a, b):
        # a at or before b on the wrapping key circle (keys less than half a turn apart)
        return ~(b - a)[self.key_width - 1]

    def elaborate(self, platform):
        m = Module()
        assert "timestamp" in self.entry.members, "the tree merges stamped entries only"
        kw, n = self.key_width, self.ticks_per_cycle
        candidate = data.StructLayout({"key": kw, "channel": max(1, (self.channels - 1).bit_length())})
        payload = data.StructLayout({"timestamp": TIME_WIDTH, "kind": EventKind, "lost": LOST_WIDTH})
        assert 2 * (self.depth - 1) <= self.PAYLOAD_DEPTH, "too many channels for the payload FIFOs"

        # per channel: the payloads of the entries its leaf has taken, oldest first
        ptr_width = (self.PAYLOAD_DEPTH - 1).bit_length()
        payload_heads = []          # the oldest payload of each channel (read asynchronously)
        payload_pops = []
        for c in range(self.channels):
            fifo = memory.Memory(shape=payload, depth=self.PAYLOAD_DEPTH, init=[])
            m.submodules[f"payloads{c}"] = fifo
            write, read = fifo.write_port(), fifo.read_port(domain="comb")
            w_ptr, r_ptr = Signal(ptr_width, name=f"payloads{c}_w"), Signal(ptr_width, name=f"payloads{c}_r")
            port = self.inputs[c]
            m.d.comb += [
                write.addr.eq(w_ptr), write.en.eq(port.valid & port.ready),
                write.data.timestamp.eq(port.payload.timestamp),
                write.data.kind.eq(port.payload.kind),
                write.data.lost.eq(port.payload.lost),
                read.addr.eq(r_ptr),
            ]
            with m.If(write.en):
                m.d.sync += w_ptr.eq(w_ptr + 1)
            pop = Signal(name=f"payloads{c}_pop")
            with m.If(pop):
                m.d.sync += r_ptr.eq(r_ptr + 1)
            payload_heads.append(read.data)
            payload_pops.append(pop)

        limits = {}

        def cleared(key, lag):
            # strictly older than the horizon as it was `lag` cycles ago,
            # local - horizon - lag * n; kept in a register, loaded a cycle
            # ahead (local advances n per cycle), so no subtraction precedes
            # this one. Its reset value matches local = 0, and nothing reaches
            # the tree in the first cycles after a reset anyway.
            if lag not in limits:
                offset = self.horizon + lag * n
                limits[lag] = Signal(kw, name=f"limit_lag{lag}", init=-offset % 2 ** kw)
                m.d.sync += limits[lag].eq(self.local + (n - offset) % 2 ** kw)
            return (key - limits[lag])[kw - 1]

        def register(name, incoming, chosen):
            """An output register with a skid register behind it: the ready
            towards the inputs (``accept``) is a register, so no combinational
            path runs from the output down the tree. Returns (out, accept)."""
            out = stream.Signature(chosen.shape()).create(path=(name,))
            skid = Signal(chosen.shape(), name=f"{name}_skid")
            skid_valid = Signal(name=f"{name}_skid_valid")
            accept = ~skid_valid
            taking = accept & incoming
            with m.If(out.valid & out.ready):
                with m.If(skid_valid):
                    m.d.sync += [out.payload.eq(skid), skid_valid.eq(0)]
                with m.Elif(taking):
                    m.d.sync += out.payload.eq(chosen)
                with m.Else():
                    m.d.sync += out.valid.eq(0)
            with m.Elif(taking):
                with m.If(out.valid):
                    m.d.sync += [skid.eq(chosen), skid_valid.eq(1)]
                with m.Else():
                    m.d.sync += [out.payload.eq(chosen), out.valid.eq(1)]
            return out, accept

        def leaf(c):
            # takes the queue's head whenever it has room: nothing but the
            # registered skid state on the queue's read enable
            port = self.inputs[c]
            chosen = Signal(candidate, name=f"leaf{c}_chosen")
            m.d.comb += [chosen.key.eq(port.payload.key), chosen.channel.eq(c)]
            out, accept = register(f"leaf{c}", port.valid, chosen)
            m.d.comb += port.ready.eq(accept)
            return out, 1

        def stage(name, a, lag_a, b, lag_b):
            """Register the older of a and b, or one alone once it is safe."""
            clear_a = Signal(name=f"{name}_clear_a")
            clear_b = Signal(name=f"{name}_clear_b")
            a_alone = a.valid & (clear_a | cleared(a.payload.key, lag_b))
            b_alone = b.valid & (clear_b | cleared(b.payload.key, lag_a))
            a_first = self._older_or_equal(a.payload.key, b.payload.key)
            pick_a = Signal(name=f"{name}_pick_a")
            pick_b = Signal(name=f"{name}_pick_b")
            chosen = Signal(candidate, name=f"{name}_chosen")
            m.d.comb += [
                pick_a.eq(Mux(b.valid, a.valid & a_first, a_alone)),
                pick_b.eq(Mux(a.valid, b.valid & ~a_first, b_alone)),
                chosen.eq(Mux(pick_a, a.payload, b.payload)),
            ]
            out, accept = register(name, pick_a | pick_b, chosen)
            m.d.comb += [a.ready.eq(accept & pick_a), b.ready.eq(accept & pick_b)]
            # an entry cleared against an empty side stays cleared until taken
            m.d.sync += [clear_a.eq(a_alone & ~a.ready), clear_b.eq(b_alone & ~b.ready)]
            return out, 1 + max(lag_a, lag_b)

        def tree(lo, hi):
            if hi - lo == 1:
                return leaf(lo)
            mid = (lo + hi + 1) // 2          # the first half is never the shorter
            a, lag_a = tree(lo, mid)
            b, lag_b = tree(mid, hi)
            return stage(f"merge_{lo}_{hi}", a, lag_a, b, lag_b)

        root, lag = tree(0, self.channels)
        assert lag == self.depth - 1

        # the output register: the root's channel and its oldest payload
        event = Signal(self.events.payload.shape(), name="event")
        head = Array(payload_heads)[root.payload.channel]
        m.d.comb += [
            event.channel.eq(root.payload.channel),
            event.timestamp.eq(head.timestamp),
            event.kind.eq(head.kind),
            event.lost.eq(head.lost),
        ]
        out, accept = register("out", root.valid, event)
        m.d.comb += root.ready.eq(accept)
        for c, pop in enumerate(payload_pops):
            m.d.comb += pop.eq(root.valid & accept & (root.payload.channel == c))
        m.d.comb += [
            self.events.valid.eq(out.valid),
            self.events.payload.eq(out.payload),
            out.ready.eq(self.events.ready),
        ]
        return m
