"""What every vendor PHY needs from an Amaranth io port: its pins and their inversion."""

from amaranth.lib import io

__all__ = ["port_pins", "invert_mask"]


def port_pins(ports):
    """The IOPort and per-bit inversion of a single-ended or differential port."""
    if isinstance(ports, io.DifferentialPort):
        return ports.p, ports.invert
    if isinstance(ports, io.SingleEndedPort):
        return ports.io, ports.invert
    raise TypeError(f"expected an io.SingleEndedPort or io.DifferentialPort, not {ports!r}")


def invert_mask(invert):
    """The per-bit inversion as an integer mask to XOR with."""
    return sum(int(inv) << bit for bit, inv in enumerate(invert))
