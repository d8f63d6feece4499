"""Per-channel skew corrections, kept per node and applied whenever the node is opened.

``qnu bench skew`` (:mod:`qnu.host.bench.skew`) measures them; this module
keeps them. A node is known by its serial port path and its build id (the
same board with another bitstream has other input latencies). Corrections
are delays in ps, none negative: a channel's delay register only adds, so
the early channels wait for the latest one. :class:`~qnu.host.device.Device`
adds a channel's correction to every delay it writes (``configure``) and,
on opening, writes each corrected channel's delay register.

Files live in ``$QNU_CALIBRATION_DIR`` (default ``~/.local/share/qnu/calibration``),
one JSON file per node.
"""

import datetime
import json
import os
import re
from dataclasses import dataclass, field, asdict
from pathlib import Path

__all__ = ["SkewCalibration", "calibration_dir", "calibration_path", "load_skew", "save_skew"]

FORMAT = 1


def calibration_dir():
    return Path(os.environ.get("QNU_CALIBRATION_DIR", Path.home() / ".local/share/qnu/calibration"))


def calibration_path(port, build_id):
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(port)).strip("_")
    return calibration_dir() / f"{name}-{build_id:08x}.json"


@dataclass
class SkewCalibration:
    port: str
    build_id: int
    corrections_ps: dict                    # channel -> ps added to its delay
    residual_ps: float = None               # largest skew left after the corrections
    bin_ps: float = None
    measured: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
    format: int = FORMAT

    def correction(self, channel):
        return int(self.corrections_ps.get(channel, 0))


def save_skew(calibration, path=None):
    """Write ``calibration`` where Device will find it (or to ``path``); returns the path."""
    path = Path(path) if path else calibration_path(calibration.port, calibration.build_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(calibration)
    data["corrections_ps"] = {str(k): int(v) for k, v in calibration.corrections_ps.items()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
    return path


def load_skew(port=None, build_id=None, *, path=None):
    """The calibration for this node (or in ``path``), or None if there is none."""
    path = Path(path) if path else calibration_path(port, build_id)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: skew calibration format {data.get('format')}, this qnu reads {FORMAT}")
    data["corrections_ps"] = {int(k): int(v) for k, v in data["corrections_ps"].items()}
    return SkewCalibration(**data)
