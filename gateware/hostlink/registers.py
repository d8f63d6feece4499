"""The register bank, generated from the register map in :mod:`qnu.regmap`."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from qnu import wire
from .counters import CounterFile

__all__ = ["RegisterBank"]


class RegisterBank(wiring.Component):
    """One register per entry of the map, accessed a word at a time.

    ``rw`` registers are storage here, readable by the rest of the design
    through :meth:`value`; the bank reads them back from a copy in block RAM
    (or their reset value, until first written), not through its
    multiplexer. ``ro`` registers read the signals given in
    ``sources`` (name -> value), or, named in ``counters``, count the cycles
    :meth:`counter` is high, in a :class:`CounterFile` (block RAM, not a
    logic cell per bit). ``wo`` registers pulse :meth:`strobe` with the
    written word in :meth:`value` for one cycle.

    Access port: ``addr`` selects, and is decoded into a register (for a
    short path at a small FPGA's clock): ``exists``, ``writable``, ``write``
    and ``read`` all concern the address of the previous cycle, so an address
    must be held a cycle before it is used; ``value_ok`` says whether the
    ``write_data`` of the previous cycle suits it (hold both two cycles); ``read_data`` answers two cycles after ``read``, with the
    value as of the cycle after it (registers with side effects on read
    watch :meth:`read_strobe`). Reads come in runs of at most ``wire.MAX_BURST``
    cycles (the counter file's pre-counts are sized for that).
    """

    def __init__(self, regmap, sources, validators=None, resets=None, counters=(), slow_counters=()):
        self.regmap = regmap
        resets = dict(resets or {})
        self._sources = dict(sources)
        self._validators = dict(validators or {})   # name -> (value -> bool Value)
        # (the counter file keeps the slow ones, counting at most once every 16 cycles, last)
        ordered = [c for c in counters if c not in slow_counters] + [c for c in counters if c in slow_counters]
        self._counters = {name: i for i, name in enumerate(ordered)}
        self._slow = sum(1 for c in counters if c in slow_counters)
        for name in counters:
            if regmap[name].access != "ro" or name in self._sources:
                raise ValueError(f"{name}: a counter must be a read-only register without another source")
        self._incs = {name: Signal(name=f"count_{name}") for name in counters}
        missing = [r.name for r in regmap
                   if r.access == "ro" and r.name not in self._sources and r.name not in self._counters]
        if missing:
            raise ValueError(f"no source for read-only registers: {', '.join(missing)}")
        self._values = {}
        self._strobes = {}
        self._read_strobes = {}
        for r in regmap:
            if r.access in ("rw", "wo"):
                self._values[r.name] = Signal(r.width, init=resets.get(r.name, r.reset), name=f"reg_{r.name}")
            if r.access == "wo":
                self._strobes[r.name] = Signal(name=f"reg_{r.name}_strobe")
            self._read_strobes[r.name] = Signal(name=f"reg_{r.name}_read")
        super().__init__({
            "addr":       In(16),
            "exists":     Out(1),
            "writable":   Out(1),
            "value_ok":   Out(1),     # the previous cycle's write_data suits the register
            "read_data":  Out(32),
            "read":       In(1),
            "write":      In(1),
            "write_data": In(32),
        })

    def value(self, name):
        return self._values[name]

    def strobe(self, name):
        return self._strobes[name]

    def read_strobe(self, name):
        return self._read_strobes[name]

    def counter(self, name):
        """Drive high for one cycle per event that counter register ``name`` counts."""
        return self._incs[name]

    def elaborate(self, platform):
        m = Module()
        for strobe in self._strobes.values():
            m.d.sync += strobe.eq(0)
        if self._counters:
            counters = m.submodules.counters = CounterFile(len(self._counters), max_stall=wire.MAX_BURST,
                                                           slow=self._slow)
            for name, i in self._counters.items():
                m.d.comb += counters.inc[i].eq(self._incs[name])
        selected = Signal(32)           # the value at addr, registered into read_data
        is_counter = Signal()
        # rw registers: a copy in RAM, valid once written (a reset leaves it stale)
        rw = {r.name: i for i, r in enumerate(r for r in self.regmap if r.access == "rw")}
        if rw:
            copies = m.submodules.copies = memory.Memory(shape=32, depth=len(rw), init=[],
                                                         attrs={"no_rw_check": 1})
            copy_write, copy_read = copies.write_port(), copies.read_port(domain="comb")
            copy = Signal(32)           # (the RAM's synchronous read)
            m.d.sync += copy.eq(copy_read.data)
            copied = Signal(len(rw))
            use_copy = Signal()
        # The address is decoded into a register: everything below answers
        # for the address of the previous cycle (a short path from it)
        regs = list(self.regmap)
        index = Signal(range(len(regs)))
        found = Signal()
        m.d.sync += found.eq(0)
        with m.Switch(self.addr):
            for i, r in enumerate(regs):
                with m.Case(r.address):
                    m.d.sync += [index.eq(i), found.eq(1)]
        read = Signal()                 # the read of the previous cycle's address
        m.d.sync += read.eq(self.read)
        m.d.comb += self.exists.eq(found)
        with m.Switch(Mux(found, index, len(regs))):
            for i, r in enumerate(regs):
                with m.Case(i):
                    m.d.comb += self.writable.eq(int(r.writable))
                    check = self._validators.get(r.name)
                    # (a register too: write_data comes straight from a block RAM)
                    m.d.sync += self.value_ok.eq(check(self.write_data) if check else 1)
                    if r.name in self._counters:
                        m.d.comb += [is_counter.eq(1), counters.addr.eq(self._counters[r.name])]
                    elif r.access == "ro":
                        m.d.comb += selected.eq(self._sources[r.name])
                    elif r.access == "rw":
                        m.d.comb += [selected.eq(self._values[r.name].init), use_copy.eq(copied[rw[r.name]]),
                                     copy_read.addr.eq(rw[r.name]), copy_write.addr.eq(rw[r.name]),
                                     copy_write.data.eq(self.write_data[:r.width]),
                                     copy_write.en.eq(self.write)]
                        with m.If(self.write):
                            m.d.sync += copied[rw[r.name]].eq(1)
                    m.d.comb += self._read_strobes[r.name].eq(read)
                    if r.writable:
                        with m.If(self.write):
                            m.d.sync += self._values[r.name].eq(self.write_data[:r.width])
                            if r.access == "wo":
                                m.d.sync += self._strobes[r.name].eq(1)
        registered = Signal(32)
        counted = Signal()
        m.d.sync += [registered.eq(selected), counted.eq(is_counter)]
        if rw:
            from_copy = Signal()
            m.d.sync += from_copy.eq(use_copy)
            registered = Mux(from_copy, copy, registered)
        if self._counters:
            m.d.comb += [
                counters.read.eq(read & is_counter),
                self.read_data.eq(Mux(counted, counters.data, registered)),
            ]
        else:
            m.d.comb += self.read_data.eq(registered)
        return m
