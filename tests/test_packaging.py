"""The distribution builds as a wheel holding the four subpackages and the console script."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_holds_the_subpackages(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel, = tmp_path.glob("qnu-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("qnu", "qnu/gateware", "qnu/host", "qnu/sim", "qnu/sim/tb", "qnu/boards"):
        assert f"{package}/__init__.py" in names, package
    assert "qnu/sim/harness/vboard.cpp" in names, "the virtual board's harness source is not packaged"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "qnu = qnu.host.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
