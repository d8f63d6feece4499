"""The register bank, generated from the register map in :mod:`qnu.regmap`."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RegisterBank"]


class RegisterBank(wiring.Component):
    """One register per entry of the map, accessed a word at a time.

    ``rw`` registers are storage here, readable by the rest of the design
    through :meth:`value`. ``ro`` registers read the signals given in
    ``sources`` (name -> value). ``wo`` registers pulse :meth:`strobe` with the
    written word in :meth:`value` for one cycle.

    Access port: ``addr`` selects; ``exists``, ``writable`` and ``read_data``
    answer combinationally; ``write`` stores ``write_data``; ``read`` marks a
    read (registers with side effects on read watch :meth:`read_strobe`).
    """

    def __init__(self, regmap, sources, validators=None, resets=None):
        self.regmap = regmap
        resets = dict(resets or {})
        self._sources = dict(sources)
        self._validators = dict(validators or {})   # name -> (value -> bool Value)
        missing = [r.name for r in regmap if r.access == "ro" and r.name not in self._sources]
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
            "value_ok":   Out(1),     # write_data is acceptable for the register at addr
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

    def elaborate(self, platform):
        m = Module()
        for strobe in self._strobes.values():
            m.d.sync += strobe.eq(0)
        with m.Switch(self.addr):
            for r in self.regmap:
                with m.Case(r.address):
                    m.d.comb += [self.exists.eq(1), self.writable.eq(int(r.writable))]
                    check = self._validators.get(r.name)
                    m.d.comb += self.value_ok.eq(check(self.write_data) if check else 1)
                    if r.access == "ro":
                        m.d.comb += self.read_data.eq(self._sources[r.name])
                    elif r.access == "rw":
                        m.d.comb += self.read_data.eq(self._values[r.name])
                    m.d.comb += self._read_strobes[r.name].eq(self.read)
                    if r.writable:
                        with m.If(self.write):
                            m.d.sync += self._values[r.name].eq(self.write_data[:r.width])
                            if r.access == "wo":
                                m.d.sync += self._strobes[r.name].eq(1)
        return m
