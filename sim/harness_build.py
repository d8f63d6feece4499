"""Compile the virtual board's harness (vboard.cpp) around a Verilator model of a design.

Builds are cached under ``$QNU_CACHE/vboard/<hash>/`` (default ``~/.cache/qnu``),
keyed by the Verilog, the harness source, the Verilator version and the
flags, so a design is compiled once and reused by every later run.
"""

from qnu.errors import QnuError
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from amaranth.back import verilog

from .hdl import component_ports
from .toolchain import VERILATOR_ARGS, VERILATOR_MIN, _cache_dir, find_verilator

__all__ = ["HARNESS_SOURCE", "build_harness", "require_verilator", "HarnessBuildError"]

HARNESS_SOURCE = Path(__file__).parent / "harness" / "vboard.cpp"

VERILATOR_FLAGS = ["--cc", "--exe", "--build", *VERILATOR_ARGS, "--top-module", "top",
                   "--prefix", "Vtop", "-MAKEFLAGS", "OPT_FAST=-O2"]   # Verilator's default -Os is slower
CXX_FLAGS = "-O2 -std=c++17"


class HarnessBuildError(QnuError, RuntimeError):
    pass


def require_verilator():
    """The Verilator to build with; HarnessBuildError saying how to get one if there is none."""
    binary = find_verilator()
    if binary is None:
        raise HarnessBuildError("Verilator >= %d.%03d not found: run tools/verilator.sh to build one "
                                "(or use the amaranth backend)" % VERILATOR_MIN)
    return binary


@contextlib.contextmanager
def _locked(path):
    # test workers and several `qnu sim serve` may build the same design at once
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_harness(component, *, log=None):
    """Path of the harness executable for ``component`` (a Node), building it if needed.

    ``log(text)`` is told when a (slow) build starts.
    """
    verilator = require_verilator()
    text = verilog.convert(component, name="top", ports=list(component_ports(component).values()),
                           emit_src=False)
    sample_bits = len(component.samples.as_value())
    cxx = f"{CXX_FLAGS} -DSAMPLE_BITS={sample_bits} -DSAMPLES_PER_CYCLE={component.samples_per_cycle}"
    if "probe_now" in component.signature.members:
        cxx += " -DPROBE"
    version = subprocess.run([str(verilator), "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256("\0".join([text, HARNESS_SOURCE.read_text(), version, cxx,
                                    *VERILATOR_FLAGS]).encode()).hexdigest()[:16]
    root = _cache_dir() / "vboard" / key
    exe = root / "vboard"
    if exe.exists():
        return exe
    with _locked(root.parent / f"{key}.lock"):
        if exe.exists():
            return exe
        if log:
            log(f"building the Verilator harness in {root} (once; about a minute)")
        work = root.with_name(key + ".tmp")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / "top.v").write_text(text)
        cmd = [str(verilator), *VERILATOR_FLAGS, "-Mdir", str(work / "obj"), "-o", str(work / "vboard"),
               "-CFLAGS", cxx, "-j", str(os.cpu_count() or 1), str(work / "top.v"), str(HARNESS_SOURCE)]
        env = dict(os.environ, PATH=f"{verilator.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        (work / "build.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0 or not (work / "vboard").exists():
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise HarnessBuildError(f"building the harness failed (log: {work / 'build.log'}):\n{tail}")
        shutil.rmtree(work / "obj")         # only the executable is needed
        shutil.rmtree(root, ignore_errors=True)
        work.rename(root)
    return exe
