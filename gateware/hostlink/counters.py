"""Event counters kept mostly in block RAM: fewer logic cells, one read port."""

from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["CounterFile"]


class CounterFile(wiring.Component):
    """``count`` counters of ``width`` bits, read one at a time, exactly.

    A flip-flop counter costs a logic cell per bit, and the register
    multiplexer that reads it as much again: a node's 18 32-bit counters take
    a fifth of an iCE40UP5K. Here each counter's low bits are a small
    flip-flop counter that ``inc[i]`` advances (at most once per cycle); its
    high bits are a word of block RAM. When the low bits wrap, a carry waits
    in a flag. A scanner visits the counters in turn, one per cycle: it reads
    the word and takes the flag, and a cycle later writes the word back plus
    the carry taken.

    ``read`` with ``addr`` asks for counter ``addr``; ``data`` gives, in the
    next cycle, the number of increments up to the cycle before the request
    (``inc`` is registered first, so that no logic of its sources is in
    series with the counting). A read takes
    the RAM's read port from the scanner for that cycle; when the word it
    reads is being written in that cycle (which a block RAM leaves
    undefined), the written value is taken instead.

    A reset clears the flip-flops but not the RAM: the scanner's first round
    after it writes zero words (plus their carries), so for ``count`` cycles
    after a reset a read may see a stale word.

    The low bits must not wrap twice between two visits of their counter:
    ``count`` cycles, plus the cycles reads take the port, which may be up to
    ``max_stall`` in that span (a node reads at most a burst of registers in
    consecutive cycles, and its frames are hundreds of cycles apart).
    """

    def __init__(self, count, *, width=32, max_stall=32, slow=0, slow_interval=16):
        if count < 2:
            raise ValueError("a counter file needs at least two counters (a write must land before its reread)")
        self.count = count
        self.width = width
        between = count + max_stall         # the most cycles between two visits of a counter
        self.low_width = between.bit_length()
        # the last ``slow`` counters count at most once every ``slow_interval`` cycles
        # (a node's error counters: once per frame or per UART byte): fewer low bits
        self.slow = slow
        self.slow_low_width = max(1, (-(-between // slow_interval)).bit_length())
        super().__init__({
            "inc":  In(count),
            "read": In(1),
            "addr": In(range(count)),
            "data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        high_width = self.width - (self.slow_low_width if self.slow else self.low_width)
        # (no read-during-write logic: the bypass below covers the one collision)
        words = m.submodules.words = memory.Memory(shape=high_width, depth=self.count, init=[],
                                                   attrs={"no_rw_check": 1})
        write = words.write_port()
        read = words.read_port(domain="comb")
        word = Signal(high_width)           # the RAM's output: the word addressed in the previous cycle
        m.d.sync += word.eq(read.data)

        fast = self.count - self.slow
        low = Array(Signal(self.low_width if i < fast else self.slow_low_width, name=f"low{i}")
                    for i in range(self.count))
        carry = Array(Signal(name=f"carry{i}") for i in range(self.count))
        scan = Signal(range(self.count))
        visiting = ~self.read
        m.d.comb += read.addr.eq(Mux(self.read, self.addr, scan))
        with m.If(visiting):
            m.d.sync += scan.eq(Mux(scan == self.count - 1, 0, scan + 1))

        # visit: take the carry now, write the word back plus it in the next cycle
        # (zero in the first round after a reset)
        fresh = Signal(init=1)
        with m.If(visiting & (scan == self.count - 1)):
            m.d.sync += fresh.eq(0)
        clearing = Signal()
        m.d.sync += clearing.eq(fresh)
        taken = Signal()
        writing = Signal()
        written = Signal(range(self.count))
        m.d.sync += [writing.eq(visiting), written.eq(scan), taken.eq(carry[scan])]
        inc = Signal(self.count)
        m.d.sync += inc.eq(self.inc)
        for i in range(self.count):
            wraps = inc[i] & low[i].all()
            m.d.sync += [
                low[i].eq(low[i] + inc[i]),
                carry[i].eq(wraps | (carry[i] & ~(visiting & (scan == i)))),
            ]
        m.d.comb += [
            write.addr.eq(written),
            write.data.eq(Mux(clearing, 0, word) + taken),
            write.en.eq(writing),
        ]

        # read: the low bits, and the high word (or the one being written over it) plus its carry
        low_read = Signal(self.low_width)
        slow_read = Signal()
        carry_read = Signal()
        bypass = Signal()
        bypass_word = Signal(high_width)
        m.d.sync += [
            low_read.eq(low[self.addr]),
            slow_read.eq(self.addr >= fast),
            carry_read.eq(carry[self.addr]),
            bypass.eq(writing & (written == self.addr)),
            bypass_word.eq(write.data),
        ]
        high = Mux(bypass, bypass_word, word) + carry_read
        if self.slow:
            # a slow counter's word holds its bits from slow_low_width up
            m.d.comb += self.data.eq(Mux(slow_read, Cat(low_read[:self.slow_low_width], high),
                                         Cat(low_read, high)))
        else:
            m.d.comb += self.data.eq(Cat(low_read, high))
        return m
