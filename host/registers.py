"""Register accessors generated from the register map: ``dev.regs.scratch = 5``.

Reads and writes of several registers go out as READ/WRITE bursts, one per
run of consecutive addresses (at most MAX_BURST each). Accesses the map
forbids are refused before anything is sent.
"""

import difflib

from qnu.host.errors import AccessError, DeviceError, UnknownRegister
from qnu.regmap import WideRegister
from qnu.wire import MAX_BURST, ErrorCode

__all__ = ["Registers", "plan_bursts", "field_values"]


def plan_bursts(addresses, max_burst=MAX_BURST):
    """Split addresses into runs of consecutive addresses: a list of (first address, count)."""
    runs = []
    for address in sorted(set(addresses)):
        if runs and runs[-1][0] + runs[-1][1] == address and runs[-1][1] < max_burst:
            runs[-1][1] += 1
        else:
            runs.append([address, 1])
    return [tuple(run) for run in runs]


def field_values(register, value):
    """A register value split into its named fields: {field name: value}."""
    return {f.name: (value & f.mask) >> f.offset for f in register.fields}


class Registers:
    """Every register of a node by name, as attributes or items.

    ``regs.scratch`` reads, ``regs.scratch = 5`` writes, ``regs["ch3_delay"]``
    likewise; :meth:`read` and :meth:`write` take several at once. A 64-bit
    value kept in a ``<name>_lo``/``<name>_hi`` pair is one register here too
    (:class:`qnu.regmap.WideRegister`): ``regs.time`` reads both halves in one
    burst, ``regs.pulse_period = 10**9`` writes both in one.
    """

    def __init__(self, link, regmap):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_map", regmap)

    @property
    def map(self):
        return self._map

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.read(name)[name]

    def __setattr__(self, name, value):
        self.write({name: value})

    def __getitem__(self, name):
        return self.read(name)[name]

    def __setitem__(self, name, value):
        self.write({name: value})

    def __contains__(self, name):
        return name in self._map or name in self._map.wide

    def __iter__(self):
        return (r.name for r in self._map)

    def __dir__(self):
        return [*super().__dir__(), *self]

    def lookup(self, name):
        """The :class:`qnu.regmap.Register` (or :class:`~qnu.regmap.WideRegister`) called
        ``name``; UnknownRegister suggests close names."""
        if name in self._map:
            return self._map[name]
        if name in self._map.wide:
            return self._map.wide[name]
        close = difflib.get_close_matches(name, [*self, *self._map.wide], n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownRegister(f"no register named {name!r}{hint}")

    def read(self, *names):
        """Read registers in as few bursts as possible: {name: value}, in the order asked."""
        asked = [self.lookup(n) for n in names]
        for r in asked:
            if not r.readable:
                raise AccessError(f"register {r.name!r} is write-only: the node reads it as 0")
        regs = [half for r in asked for half in ((r.lo, r.hi) if isinstance(r, WideRegister) else (r,))]
        by_address = {}
        for address, count in plan_bursts(r.address for r in regs):
            by_address.update(zip(range(address, address + count), self._link.read(address, count)))
        got = {r.name: by_address[r.address] for r in regs}
        return {r.name: r.join(got) if isinstance(r, WideRegister) else got[r.name] for r in asked}

    def read_all(self):
        """Every readable register, in address order: {name: value}."""
        return self.read(*(r.name for r in self._map if r.readable))

    def write(self, values):
        """Write {name: value}, in address order and as few bursts as possible.

        Everything is checked first, so a bad name or value sends nothing. The
        node applies each burst whole or not at all; registers in separate
        bursts (not consecutive) are separate writes.
        """
        regs = {}
        for name, value in self._halves(values).items():
            r = self.lookup(name)
            if not r.writable:
                raise DeviceError(ErrorCode.READ_ONLY, r.address, request=f"write to {name}",
                                  register=name, by_host=True)
            value = int(value)
            if not 0 <= value < 1 << r.width:
                raise ValueError(f"register {name!r} holds {r.width} bits: 0 to {(1 << r.width) - 1:#x}, "
                                 f"not {value:#x}")
            regs[r.address] = value
        for address, count in plan_bursts(regs):
            try:
                self._link.write(address, [regs[a] for a in range(address, address + count)])
            except DeviceError as e:
                reg = self._map.by_address.get(e.detail) if e.code in _ADDRESS_CODES else None
                if reg is None:
                    raise
                raise DeviceError(e.code, e.detail, request=f"WRITE at {address:#06x}",
                                  register=reg.name) from None


    def _halves(self, values):
        """``values`` with each wide register's value split into its two halves."""
        out = {}
        for name, value in dict(values).items():
            r = self.lookup(name)
            if isinstance(r, WideRegister):
                value = int(value)
                if not 0 <= value < 1 << r.width:
                    raise ValueError(f"register {name!r} holds {r.width} bits: 0 to {(1 << r.width) - 1:#x}, "
                                     f"not {value:#x}")
                out.update(r.split(value))
            else:
                out[name] = value
        return out


# Error codes whose detail is a register address.
_ADDRESS_CODES = (ErrorCode.BAD_ADDRESS, ErrorCode.READ_ONLY, ErrorCode.BAD_VALUE)
