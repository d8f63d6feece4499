"""Recorded tags: blocks as they arrived, with every loss and gap kept beside them.

A :class:`TagBlock` holds the tags of the EVENTS frames received in one go,
the overflow markers among them (events the node lost, counted) and the gaps
(records the link lost, counted exactly from the frames' record indices). A
:class:`Recording` is the list of blocks of one run; it concatenates on demand
and saves to and loads from .npz (everything) or PicoQuant .ptu (the tags,
for other tools: :mod:`qnu.ptu`), chosen by the file's suffix.
"""

import collections
import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TagBlock", "Recording", "Overflow", "Gap", "Tags", "load_recording"]

Overflow = collections.namedtuple("Overflow", "channel timestamp_ps lost")
Overflow.__doc__ = "The node lost ``lost`` events of ``channel``, the first at ``timestamp_ps``."
Gap = collections.namedtuple("Gap", "position missing")
Gap.__doc__ = "``missing`` records (tags or markers) never arrived, just before tag ``position``."
Tags = collections.namedtuple("Tags", "channel timestamp_ps edge")
Herald = collections.namedtuple("Herald", "reference_ps attempt outcome multi pattern clicks_ps")
Herald.__doc__ = ("An attempt the node's herald unit decided: its reference time, number, outcome "
                  "(a qnu.herald.Outcome), multi-click flag, pattern and clicks_ps: pattern bit -> the first "
                  "click's time after the reference, ps.")
_HERALD_COLUMNS = 6 + 8      # block, reference_ps, attempt, outcome, multi, pattern, 8 click times (-1: none)

_FORMAT = 1


def _empty(dtype):
    return np.zeros(0, dtype=dtype)


@dataclass
class TagBlock:
    """Tags in arrival order: channel (int16), timestamp_ps (int64), edge (+1 rising, -1 falling)."""
    channel: np.ndarray = field(default_factory=lambda: _empty(np.int16))
    timestamp_ps: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    edge: np.ndarray = field(default_factory=lambda: _empty(np.int8))
    overflows: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    heralds: list = field(default_factory=list)     # Herald records, in arrival order
    first_record: int = None    # stream index (mod 2**32) of the block's first record, if known
    bad_frames: int = 0         # corrupt frames the host received while collecting this block

    def __len__(self):
        return len(self.timestamp_ps)

    @property
    def missing_records(self):
        """Records lost on the link (corrupt or skipped EVENTS frames) within or before this block."""
        return sum(g.missing for g in self.gaps)

    @property
    def lost(self):
        """Events the node lost (full queues), per its overflow markers in this block."""
        return sum(o.lost for o in self.overflows)

    def __repr__(self):
        return (f"TagBlock({len(self)} tags, {len(self.overflows)} overflow markers ({self.lost} lost), "
                f"{self.missing_records} records missing)")


class Recording:
    """The blocks of one recording, never merged: losses stay where they happened."""

    def __init__(self, blocks=(), *, clock_hz=None, samples_per_cycle=None, duration_s=None,
                 node_duration_s=None, bin_ps=None):
        self.blocks = list(blocks)
        self._bin_ps = bin_ps           # (else from the clock and samples per cycle)
        self.clock_hz = clock_hz
        self.samples_per_cycle = samples_per_cycle
        self.duration_s = duration_s    # host-measured time between starting and stopping the stream
        # the same span on the node's own clock: what rates are per (a simulated
        # node runs slower than the wall clock)
        self.node_duration_s = node_duration_s

    @property
    def rate_duration_s(self):
        """The span that rates are taken over: the node's if known, else the host's."""
        return self.node_duration_s if self.node_duration_s is not None else self.duration_s

    def __len__(self):
        return sum(len(b) for b in self.blocks)

    def __repr__(self):
        return (f"Recording({len(self)} tags in {len(self.blocks)} blocks, {self.lost_total} lost, "
                f"{self.missing_total} missing)")

    def tags(self):
        """All tags, concatenated: Tags(channel, timestamp_ps, edge) arrays."""
        if not self.blocks:
            return Tags(_empty(np.int16), _empty(np.int64), _empty(np.int8))
        return Tags(*(np.concatenate([getattr(b, name) for b in self.blocks]) for name in Tags._fields))

    @property
    def overflows(self):
        return [o for b in self.blocks for o in b.overflows]

    @property
    def heralds(self):
        """Every herald record (:class:`Herald`), in arrival order."""
        return [h for b in self.blocks for h in b.heralds]

    @property
    def gaps(self):
        """Every gap, with its position among all the recording's tags."""
        out, offset = [], 0
        for b in self.blocks:
            out += [Gap(offset + g.position, g.missing) for g in b.gaps]
            offset += len(b)
        return out

    @property
    def lost_total(self):
        return sum(b.lost for b in self.blocks)

    @property
    def missing_total(self):
        return sum(b.missing_records for b in self.blocks)

    @property
    def bad_frames(self):
        return sum(b.bad_frames for b in self.blocks)

    def per_channel(self, channels):
        """(tags, lost) per channel 0..channels-1, as two int64 arrays."""
        tags = np.bincount(self.tags().channel.astype(np.int64), minlength=channels)[:channels]
        lost = np.zeros(channels, dtype=np.int64)
        for o in self.overflows:
            if o.channel < channels:
                lost[o.channel] += o.lost
        return tags, lost

    # --- files ------------------------------------------------------------------

    @property
    def bin_ps(self):
        """The node's time bin, ps (None if the recording does not say)."""
        if self._bin_ps:
            return self._bin_ps
        if self.clock_hz and self.samples_per_cycle:
            return 1e12 / (self.clock_hz * self.samples_per_cycle)
        return None

    def save(self, path):
        """Write the recording: a PicoQuant T2 file if ``path`` ends in .ptu
        (the tags, losses counted in its header), else .npz (all of it; numpy
        appends the suffix if missing). Load either with load_recording."""
        if _is_ptu(path):
            from .ptu import write_ptu
            tags = self.tags()
            write_ptu(path, tags.channel, tags.timestamp_ps, tags.edge, bin_ps=self.bin_ps,
                      channels=int(tags.channel.max()) + 1 if len(tags.channel) else 1,
                      lost=self.lost_total, missing=self.missing_total)
            return
        tags = self.tags()
        ov = [(i, *o) for i, b in enumerate(self.blocks) for o in b.overflows]
        gaps = [(i, *g) for i, b in enumerate(self.blocks) for g in b.gaps]
        heralds = [(i, h.reference_ps, h.attempt, h.outcome, int(h.multi), h.pattern,
                    *(h.clicks_ps.get(k, -1) for k in range(8))) for i, b in enumerate(self.blocks) for h in b.heralds]
        np.savez_compressed(
            path, format=_FORMAT,
            channel=tags.channel, timestamp_ps=tags.timestamp_ps, edge=tags.edge,
            block_length=np.array([len(b) for b in self.blocks], dtype=np.int64),
            block_first_record=np.array([-1 if b.first_record is None else b.first_record
                                         for b in self.blocks], dtype=np.int64),
            block_bad_frames=np.array([b.bad_frames for b in self.blocks], dtype=np.int64),
            overflow=np.array(ov, dtype=np.int64).reshape(-1, 4),    # block, channel, timestamp_ps, lost
            gap=np.array(gaps, dtype=np.int64).reshape(-1, 3),       # block, position, missing
            herald=np.array(heralds, dtype=np.int64).reshape(-1, _HERALD_COLUMNS),
            clock_hz=np.int64(self.clock_hz or 0), samples_per_cycle=np.int64(self.samples_per_cycle or 0),
            duration_s=np.float64(np.nan if self.duration_s is None else self.duration_s),
            node_duration_s=np.float64(np.nan if self.node_duration_s is None else self.node_duration_s))

    @classmethod
    def load(cls, path):
        if _is_ptu(path):
            return cls._load_ptu(path)
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != _FORMAT:
                raise ValueError(f"{path}: recording format {int(f['format'])}, this qnu reads {_FORMAT}")
            lengths = f["block_length"]
            edges = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            blocks = []
            for i in range(len(lengths)):
                s = slice(edges[i], edges[i + 1])
                first = int(f["block_first_record"][i])
                blocks.append(TagBlock(
                    f["channel"][s], f["timestamp_ps"][s], f["edge"][s],
                    overflows=[Overflow(*map(int, row[1:])) for row in f["overflow"] if row[0] == i],
                    gaps=[Gap(*map(int, row[1:])) for row in f["gap"] if row[0] == i],
                    heralds=[Herald(int(row[1]), int(row[2]), int(row[3]), bool(row[4]), int(row[5]),
                                    {k: int(t) for k, t in enumerate(row[6:]) if t >= 0})
                             for row in (f["herald"] if "herald" in f else ()) if row[0] == i],
                    first_record=None if first < 0 else first, bad_frames=int(f["block_bad_frames"][i])))
            def optional(key):
                value = float(f[key]) if key in f else np.nan
                return None if np.isnan(value) else value
            return cls(blocks, clock_hz=int(f["clock_hz"]) or None,
                       samples_per_cycle=int(f["samples_per_cycle"]) or None,
                       duration_s=optional("duration_s"), node_duration_s=optional("node_duration_s"))


    @classmethod
    def _load_ptu(cls, path):
        """One block of the file's tags, in time order (a PTU file keeps no blocks, markers or gaps)."""
        from .ptu import read_ptu
        tags, header = read_ptu(path)
        bin_ps = header.get("QNU_BinPs") or header["MeasDesc_GlobalResolution"] * 1e12
        return cls([TagBlock(tags["channel"], tags["timestamp_ps"], tags["edge"])], bin_ps=bin_ps)


def _is_ptu(path):
    return os.fspath(path).lower().endswith(".ptu")


def load_recording(path):
    """Read a recording written by :meth:`Recording.save`."""
    return Recording.load(path)
