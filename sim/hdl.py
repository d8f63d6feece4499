"""Verilog for external simulators (Icarus, Verilator) from Amaranth components."""

from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Const, Value

__all__ = ["component_ports", "write_verilog"]


def component_ports(component):
    """Port name -> signal for each member of the component's signature.

    Names join the signature path with ``__`` as Amaranth does (``events__valid``).
    Members tied to constants (the ``ready`` of an always-ready stream) are
    left out: they are not wires.
    """
    ports = {}
    for path, member, value in component.signature.flatten(component):
        value = Value.cast(value)
        if isinstance(value, Const):
            continue
        ports["__".join(str(p) for p in path)] = value
    return ports


def write_verilog(component, path, *, name="top"):
    """Write the component as a Verilog module ``name`` to ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = verilog.convert(component, name=name, ports=list(component_ports(component).values()),
                           emit_src=False)
    path.write_text(text)
    return path
