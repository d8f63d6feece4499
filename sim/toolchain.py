"""Find the external simulators: Icarus Verilog and a new enough Verilator."""

import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["VERILATOR_MIN", "VERILATOR_ARGS", "find_icarus", "find_verilator", "simulator_env"]

VERILATOR_MIN = (5, 36)     # cocotb 2 refuses anything older
#: what every Verilator build of Amaranth's Verilog takes (cocotb testbenches and the
#: virtual board alike): it is correct but not lint-clean for Verilator's taste
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-UNOPTFLAT",
                  "-O3", "--x-assign", "fast", "--x-initial", "fast"]


def _cache_dir():
    base = os.environ.get("QNU_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qnu"
    return Path(base)


def _verilator_version(binary):
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Verilator (\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2])) if match else None


def find_verilator():
    """Path of a Verilator of at least VERILATOR_MIN: on PATH, or built by tools/verilator.sh."""
    candidates = []
    if shutil.which("verilator"):
        candidates.append(Path(shutil.which("verilator")))
    candidates += sorted(_cache_dir().glob("verilator-*/bin/verilator"), reverse=True)
    for binary in candidates:
        version = _verilator_version(binary)
        if version and version >= VERILATOR_MIN:
            return binary
    return None


def find_icarus():
    return shutil.which("iverilog")


def simulator_env(simulator):
    """Put the simulator on PATH for cocotb's runner; raise with a fix if missing."""
    if simulator == "icarus":
        if not find_icarus():
            raise RuntimeError("Icarus Verilog not found: install it with 'apt-get install iverilog'")
        return
    if simulator == "verilator":
        binary = find_verilator()
        if binary is None:
            raise RuntimeError("no Verilator >= %d.%03d found: run tools/verilator.sh to build one" % VERILATOR_MIN)
        bindir = str(binary.parent)
        if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        return
    raise ValueError(f"unknown simulator {simulator!r}")
