"""Simulated bench instruments: pyvisa-sim definitions (the YAML files here)
and behavioural models served on local sockets (``qnu sim serve``)."""

from pathlib import Path

__all__ = ["yaml_library"]

_HERE = Path(__file__).parent


def yaml_library(name):
    """The pyvisa-sim visa_library string for one of the definitions here ("dg645", ...)."""
    path = _HERE / f"{name}.yaml"
    if not path.exists():
        raise ValueError(f"no simulated instrument {name!r}: {', '.join(p.stem for p in _HERE.glob('*.yaml'))}")
    return f"{path}@sim"
