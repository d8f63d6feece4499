"""A buffered FIFO whose memory maps to block RAM without collision logic."""

from amaranth.hdl import Module, Signal, Mux
from amaranth.lib import fifo, memory

__all__ = ["BufferedFIFO"]


class BufferedFIFO(fifo.SyncFIFOBuffered):
    """:class:`amaranth.lib.fifo.SyncFIFOBuffered`: the same ports, levels and
    latency, cycle for cycle, but cheaper in block RAM.

    Block RAMs (an iCE40's EBR) leave a read of the address being written
    undefined, so for a read-old-data port Yosys adds a register of the
    written word and a bypass multiplexer: a flip-flop and a LUT per bit,
    for a 130-bit queue entry far more than the RAM itself saves. In a FIFO
    no collision can happen (the addresses are equal only when it is empty,
    with no read, or full, with no write), so the memory is marked
    ``no_rw_check``; Yosys honours that when it merges the output register
    into the RAM's read port, hence the asynchronous read port and explicit
    register here.
    """

    def elaborate(self, platform):
        if self.depth < 2:
            return super().elaborate(platform)
        m = Module()
        inner_depth = self.depth - 1            # the output register holds one more
        inner_level = Signal(range(inner_depth + 1))
        # the memory is a power of two deep, so the pointers wrap by themselves
        # (a depth of 2**k, the output register included, leaves a word unused)
        slots = 1 << (inner_depth - 1).bit_length()
        produce = Signal(range(slots))
        consume = Signal(range(slots))

        def incr(pointer):
            return (pointer + 1)[:len(pointer)]

        do_write = self.w_rdy & self.w_en
        do_inner_read = (inner_level != 0) & (~self.r_rdy | self.r_en)
        m.d.comb += [
            self.w_rdy.eq(inner_level != inner_depth),
            self.level.eq(inner_level + self.r_rdy),
            self.w_level.eq(self.level),
            self.r_level.eq(self.level),
        ]

        storage = m.submodules.storage = memory.Memory(shape=self.width, depth=slots, init=[],
                                                       attrs={"no_rw_check": 1})
        w_port = storage.write_port()
        r_port = storage.read_port(domain="comb")
        m.d.comb += [
            w_port.addr.eq(produce), w_port.data.eq(self.w_data), w_port.en.eq(do_write),
            r_port.addr.eq(consume),
        ]
        with m.If(do_write):
            m.d.sync += produce.eq(incr(produce))
        with m.If(do_inner_read):
            m.d.sync += [self.r_data.eq(r_port.data), consume.eq(incr(consume))]
        with m.If(do_write & ~do_inner_read):
            m.d.sync += inner_level.eq(inner_level + 1)
        with m.If(do_inner_read & ~do_write):
            m.d.sync += inner_level.eq(inner_level - 1)
        with m.If(do_inner_read):
            m.d.sync += self.r_rdy.eq(1)
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m
