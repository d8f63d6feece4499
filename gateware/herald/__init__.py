"""Heralding: the herald unit decides, per attempt, from which detector
clicked in which window, whether entanglement was heralded and in which
Bell state (docs/herald.md)."""

from .unit import HeraldUnit, HERALD_CONFIG, herald_record_layout, LATENCY_CYCLES

__all__ = ["HeraldUnit", "HERALD_CONFIG", "herald_record_layout", "LATENCY_CYCLES"]
