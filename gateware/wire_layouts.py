"""Amaranth layouts of the wire protocol's packed words, made from their one
definition in :mod:`qnu.wire`, so the gateware and the host cannot disagree."""

from amaranth.hdl import unsigned
from amaranth.lib import data

from qnu import wire

__all__ = ["layout_of", "EVENT_CONTROL"]


def layout_of(fields, size=32):
    """A layout of a ``size``-bit word whose ``fields`` are name -> (lowest bit, width)."""
    return data.FlexibleLayout(size, {name: data.Field(unsigned(width), lsb)
                                      for name, (lsb, width) in fields.items()})


#: a SCHEDULE event's control word: output, action, pulse width
EVENT_CONTROL = layout_of(wire.EVENT_CONTROL)
