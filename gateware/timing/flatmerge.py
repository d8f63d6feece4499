"""Merge the channels' queues in one comparison level: the merger for small FPGAs."""

from amaranth.hdl import Module, Signal, Cat

from .merge import Merger

__all__ = ["FlatMerger"]


class FlatMerger(Merger):
    """A drop-in alternative to :class:`EventMerger` with one register.

    It sees every queue head at once, so the rule is simply: a head is
    *released* once its key is older than the horizon ``local - horizon``
    (every entry not yet at a head has a later key) and stays released until
    taken; of the released heads the oldest goes on, ties to the lower
    channel. The stream is the tree merger's, record for record, with one
    register of latency instead of one per level and no skid registers: far
    fewer flip-flops, for clocks (like an iCE40's 48 MHz) where a comparison
    of every pair of heads fits in a cycle. Keys are compared modulo
    ``2**key_width``, as in the tree. It merges unstamped entries too
    (:func:`~qnu.gateware.timing.event.merged_layout`).
    """

    @staticmethod
    def stages(channels):
        return 1

    def _older_or_equal(self, a, b):
        # a at or before b on the wrapping key circle (keys less than half a turn apart)
        return ~(b - a)[self.key_width - 1]

    def elaborate(self, platform):
        m = Module()
        kw, n, heads = self.key_width, self.ticks_per_cycle, self.inputs
        # the horizon, local - horizon, loaded a cycle ahead so no subtraction precedes the comparisons
        limit = Signal(kw, init=-self.horizon % 2 ** kw)
        m.d.sync += limit.eq(self.local + n - self.horizon)

        out = self.events
        accept = ~out.valid | out.ready
        offer = []
        for c, head in enumerate(heads):
            key = head.payload.key
            released = Signal(name=f"released{c}")
            ok = Signal(name=f"offer{c}")
            m.d.comb += ok.eq(head.valid & (released | (self._older_or_equal(key, limit) & (key != limit))))
            m.d.sync += released.eq(ok & ~head.ready)      # stays released while it waits
            offer.append(ok)

        # head c wins against every other offering head: older than the lower
        # channels, older or equal to the higher ones
        wins = []
        for c in range(self.channels):
            beats = [~offer[j] | (self._older_or_equal(heads[c].payload.key, heads[j].payload.key)
                                  if j > c else ~self._older_or_equal(heads[j].payload.key, heads[c].payload.key))
                     for j in range(self.channels) if j != c]
            win = Signal(name=f"win{c}")
            m.d.comb += win.eq(offer[c] & Cat(*beats).all() if beats else offer[c])
            wins.append(win)
        # keys more than half a turn apart can leave no winner: then the lowest offering channel goes
        fallback = ~Cat(*wins).any()
        chosen = Signal(self.channels)
        for c in reversed(range(self.channels)):
            with m.If(wins[c] | (fallback & offer[c])):
                m.d.comb += chosen.eq(1 << c)

        with m.If(accept):
            m.d.sync += out.valid.eq(chosen.any())
        for c, head in enumerate(heads):
            m.d.comb += head.ready.eq(accept & chosen[c])
            with m.If(head.ready):
                m.d.sync += out.payload.channel.eq(c)
                m.d.sync += [getattr(out.payload, name).eq(getattr(head.payload, name))
                             for name in out.payload.shape().members if name != "channel"]
        return m
