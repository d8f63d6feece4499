"""Bench routines: a node and lab instruments through VISA, one function and one
``qnu bench`` command each. Each shows a progress bar, writes a JSON result
and a PNG plot, and on Ctrl-C or an instrument error puts the instruments and
the node back as they were and keeps what it had measured."""

from .common import BenchResult
from .skew import SkewResult, calibrate_skew
from .jitter import measure_jitter
from .window_scan import scan_windows
from .sync_check import check_sync

__all__ = ["BenchResult", "SkewResult", "calibrate_skew", "measure_jitter", "scan_windows", "check_sync"]
