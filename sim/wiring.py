"""``OUTPUT:INPUT[:CABLE]`` wiring, as the command line gives it for loopbacks and
simulated instruments' outputs (comma separated where there are several)."""

from .sources import parse_time

__all__ = ["parse_wire", "parse_wires"]


def parse_wire(item, *, what, example, output=int, default_cable_ps=0):
    """``OUTPUT:INPUT[:CABLE]`` -> (output(OUTPUT), input, cable ps); CABLE with a unit (5ns, 2500ps).
    ``what`` and ``example`` name the wire in errors."""
    parts = item.strip().split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        channel = int(parts[1])
        cable = parse_time(parts[2]) if len(parts) == 3 else default_cable_ps
    except ValueError:
        raise ValueError(f"{what} is OUTPUT:INPUT[:CABLE], e.g. {example}, not {item.strip()!r}") from None
    if channel < 0 or cable < 0:
        raise ValueError(f"{what}'s input and cable must not be negative: {item.strip()!r}")
    return output(parts[0]), channel, cable     # (its own error, naming the outputs there are)


def parse_wires(text, *, none, **kw):
    """Comma-separated wires, at least one (else ValueError(``none``)) -> [(output, input, cable ps)]."""
    wires = [parse_wire(item, **kw) for item in text.split(",") if item.strip()]
    if not wires:
        raise ValueError(none)
    return wires
