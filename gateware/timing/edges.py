"""Edge selection under a dead time: shared by the tagger channels and the herald unit."""

from amaranth.hdl import Signal, Mux, Cat

__all__ = ["earliest_outside_dead_time"]


def earliest_outside_dead_time(m, wanted, dead_time, n):
    """The earliest of this word's ``wanted`` samples (``n`` bits, bit 0
    earliest) that no earlier accepted edge's ``dead_time`` covers; it is
    accepted, and covers the ticks after it. The dead time is at least one
    cycle (``n`` ticks), so at most one edge per word is accepted.

    Returns ``(found, first, position)``: whether one was, as a one-hot word
    and as a sample index (all combinational).

    Dead ticks remaining, counted from the first sample of the current word,
    and the samples of this word they leave free (``allowed[k]`` is
    ``dead <= k``) are registers, and the loop they close through the edge
    choice holds no arithmetic: the earliest-candidate pick and a one-hot
    select of values derived from the configuration (registered, so a change
    of the dead time applies a cycle later).
    """
    dead = Signal(range(2 ** len(dead_time) + n))
    allowed = Signal(n, init=2 ** n - 1)
    candidates = Signal(n)
    m.d.comb += candidates.eq(wanted & allowed)

    first = Signal(n)                   # the earliest candidate, one-hot
    m.d.comb += first.eq(candidates & ~Cat(0, *(candidates[:k].any() for k in range(1, n))))
    found = Signal()
    position = Signal(range(n))
    m.d.comb += found.eq(candidates.any())
    for k in range(1, n):
        with m.If(first[k]):
            m.d.comb += position.eq(k)

    # the dead time beyond one cycle (it is at least one cycle, n ticks):
    # after an event at sample k, extra + k ticks remain, which leave
    # sample j of the next word free if extra + k <= j
    extra = Signal(len(dead_time))
    m.d.sync += extra.eq(Mux(dead_time > n, dead_time - n, 0))
    dead_after = 0
    allowed_after = 0
    for k in range(n):
        dead_after = dead_after | Mux(first[k], extra + k, 0)
        free = Cat((extra <= j - k) if j >= k else 0 for j in range(n))
        allowed_after = allowed_after | Mux(first[k], free, 0)
    with m.If(found):
        m.d.sync += [dead.eq(dead_after), allowed.eq(allowed_after)]
    with m.Else():
        m.d.sync += [
            dead.eq(Mux(dead > n, dead - n, 0)),
            allowed.eq(Cat(dead <= n + j for j in range(n))),
        ]
    return found, first, position
