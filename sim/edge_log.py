"""The virtual board's edge log: every input transition it drove, for a reference model.

A text file, one transition a line: ``channel time_ps level`` (level 1: the
input went high, 0: it went low), time on the node's axis (sample tick ``s``
is at ``s * bin_ps``). Lines starting with ``#`` are comments; the first says
the bin. Within a channel, lines are in time order.
"""

from fractions import Fraction

import numpy as np

from .model import Waveform

__all__ = ["EdgeLogWriter", "read_edge_log"]


class EdgeLogWriter:
    def __init__(self, path, *, channels, bin_ps):
        self._file = open(path, "w")
        self._file.write(f"# qnu virtual board edge log: channel time_ps level; channels={channels} "
                         f"bin_ps={Fraction(bin_ps)}\n")
        self._level = [0] * channels

    def write(self, transitions):
        """``transitions``: {channel: int64 array of the transition times made final}."""
        lines = []
        for ch, times in transitions.items():
            level = self._level[ch]
            for t in times.tolist():
                level ^= 1
                lines.append(f"{ch} {t} {level}\n")
            self._level[ch] = level
        if lines:
            self._file.write("".join(lines))
            self._file.flush()

    def close(self):
        self._file.close()


def read_edge_log(path):
    """{channel: Waveform} of an edge log (channels without lines are left out)."""
    rows = np.loadtxt(path, dtype=np.int64, comments="#", ndmin=2)
    return {int(ch): Waveform(rows[rows[:, 0] == ch, 1]) for ch in np.unique(rows[:, 0])} if len(rows) else {}
