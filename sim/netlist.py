"""Gate-level netlists for post-synthesis simulation.

``synthesize(component, "ice40")`` turns an Amaranth component into the
netlist Yosys makes of it for an FPGA family (``synth_ice40`` or
``synth_ecp5``), with the component's ports kept by name, and returns a
:class:`Netlist`: the netlist file plus everything an external simulator
needs to run it — Yosys's simulation models of the vendor cells, include
folders and defines. The same cocotb testbenches that check the RTL then
run on the netlist, so what the synthesizer made of the design (memories
mapped to block or LUT RAM, registers packed into I/O cells, DDR and gearing
primitives) is checked, not assumed.

Netlists are cached under ``build/netlist/`` by a hash of the RTL, the
family, the synthesis script and the Yosys version: a second call with the
same design costs only the Verilog conversion.

Simulation models:

- iCE40: Yosys's ``ice40/cells_sim.v``. Its timing ``specify`` blocks sit
  behind ``ICE40_HX``/``ICE40_LP``/``ICE40_U``, which we leave undefined:
  the simulation is zero-delay and functional. Its optional-input default
  assignments (``input CE = 1'b1``) are SystemVerilog, which
  Icarus 11 cannot parse, so ``NO_ICE40_DEFAULT_ASSIGNMENTS`` is defined:
  Yosys's ``hierarchy`` has already tied each unconnected input of a cell
  in the netlist to its default value.
- ECP5: Yosys's ``ecp5/cells_sim.v`` with its ``.vh`` includes, expanded
  into one file; an elaboration-time ``$error`` in a generate branch (of
  ``TRELLIS_COMB``, a cell only nextpnr makes) becomes a run-time message,
  which Icarus 11 can parse. Cells that Yosys only declares as black boxes
  (``IDDRX2F``, ``ECLKSYNCB``, ``CLKDIVF`` and the other I/O and clock
  primitives in ``cells_bb.v``) take QNU's behavioural models from
  ``sim/vendor/ecp5/`` (``qnu.sim.vendor_models``); a black box a model
  defines is cut out of the library copy; that includes the ``DP16KD``
  block RAM (the modes Yosys maps memories onto; the model stops the
  simulation with a message on any other).

A netlist that instantiates a cell with no real model (a black box nobody
modelled, or a generic ``$`` cell left by synthesis) is refused with
:class:`NetlistError` rather than simulated as a silent empty box.

Each model copy is written next to the netlist; ``Netlist.sources`` and
``Netlist.defines`` are what to hand the simulator (``runner_build_args()``
for cocotb's runner). Verilator also builds these netlists (with
``VERILATOR_NETLIST_ARGS``), but slowly: about 13 minutes for a 2-channel
core on two busy cores.
"""

from qnu.errors import QnuError
import contextlib
import fcntl
import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .hdl import write_verilog

__all__ = [
    "FAMILIES",
    "VERILATOR_NETLIST_ARGS",
    "Netlist",
    "NetlistError",
    "model_sources",
    "synthesize",
    "synthesize_verilog",
]

BUILD_ROOT = Path(os.environ.get("QNU_BUILD", Path.cwd() / "build"))

FAMILIES = ("ice40", "ecp5")

# bump when the way netlists are made changes, to invalidate the cache
_SCHEME = 1


class NetlistError(QnuError):
    """Synthesis failed, or the netlist needs a cell model that is missing."""


@dataclass
class Netlist:
    """A synthesized netlist and what it takes to simulate it."""
    family: str
    top: str
    path: Path                                      # the netlist (Verilog)
    models: list = field(default_factory=list)      # cell model files to compile with it
    includes: list = field(default_factory=list)    # include folders for the models
    defines: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)       # cell type -> count, from Yosys's stat

    @property
    def sources(self):
        """Every Verilog file to hand the simulator: the netlist first."""
        return [self.path, *self.models]

    @property
    def dir(self):
        return self.path.parent

    def runner_build_args(self):
        """Keyword arguments for cocotb_tools' ``Runner.build``."""
        return dict(sources=self.sources, includes=self.includes, defines=self.defines)


def _yosys():
    from qnu.boards.toolchain import find_tool
    return find_tool("yosys")


def _share():
    from qnu.boards.toolchain import yosys_share
    return Path(yosys_share())


_yosys_version_cache = {}


def _yosys_version():
    exe = _yosys()
    if exe not in _yosys_version_cache:
        out = subprocess.run([exe, "-V"], capture_output=True, text=True, check=True).stdout
        _yosys_version_cache[exe] = out.strip()
    return _yosys_version_cache[exe]


def _synth_script(family, top, extra):
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: one of {FAMILIES}")
    synth = f"synth_{family} -top {top}"
    if extra:
        synth += " " + " ".join(extra)
    return [
        "read_verilog rtl.v",
        synth,
        # the ports keep their names; internal names go, attributes too
        "write_verilog -noattr netlist.v",
        "tee -q -o stat.json stat -json",
    ]


@contextlib.contextmanager
def _locked(folder):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def synthesize(component, family, *, name="top", synth_args=(), build_root=None):
    """Synthesize an Amaranth component for ``family``; return a :class:`Netlist`.

    The component's ports (as ``qnu.sim.hdl.component_ports`` names them:
    ``events__valid``, ``samples``, plus ``clk``/``rst`` or ``<domain>_clk``
    for its clock domains) are the netlist's ports. Vendor primitives the
    component instantiates (``Instance("SB_IO", ...)``) are kept as cells.
    """
    root = Path(build_root) if build_root is not None else BUILD_ROOT / "netlist"
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".rtl-{name}-{os.getpid()}.v"
    write_verilog(component, tmp, name=name)
    try:
        return synthesize_verilog(tmp.read_text(), family, top=name, synth_args=synth_args, build_root=root)
    finally:
        tmp.unlink(missing_ok=True)


def synthesize_verilog(rtl, family, *, top, synth_args=(), build_root=None):
    """Synthesize Verilog text ``rtl`` whose top module is ``top``."""
    root = Path(build_root) if build_root is not None else BUILD_ROOT / "netlist"
    script = _synth_script(family, top, synth_args)
    key = hashlib.sha256(json.dumps([_SCHEME, _yosys_version(), family, top, script, rtl]).encode()).hexdigest()
    folder = root / f"{family}-{top}-{key[:16]}"
    netlist = folder / "netlist.v"
    with _locked(folder):
        if not (netlist.exists() and (folder / "stat.json").exists()):
            (folder / "rtl.v").write_text(rtl)
            (folder / "synth.ys").write_text("\n".join(script) + "\n")
            done = subprocess.run([_yosys(), "-q", "-l", "synth.log", "-s", "synth.ys"], cwd=folder,
                                  capture_output=True, text=True)
            if done.returncode != 0 or not netlist.exists():
                netlist.unlink(missing_ok=True)
                raise NetlistError(f"yosys failed for {top} ({family}), see {folder / 'synth.log'}:\n"
                                   + (done.stderr or done.stdout)[-3000:])
        cells = _cell_counts(folder / "stat.json", top)
        models, includes, defines = model_sources(family, cells, folder)
    return Netlist(family=family, top=top, path=netlist, models=models, includes=includes,
                   defines=defines, cells=cells)


def _cell_counts(stat_path, top):
    text = stat_path.read_text()
    # `tee` may put log lines before the JSON
    stat = json.loads(text[text.index("{"):])
    modules = stat.get("modules", {})
    mod = modules.get(f"\\{top}") or modules.get(top) or next(iter(modules.values()), {})
    return {k.lstrip("\\"): int(v) for k, v in mod.get("num_cells_by_type", {}).items()}


# -- simulation models ------------------------------------------------------------------------------

_MODULE = re.compile(r"^\s*((?:\(\*[^*]*\*\)\s*)*)module\s+(\\?[\w$]+)", re.MULTILINE)


def _modules(text):
    """{module name: is a black box} for every module declared in Verilog ``text``."""
    out = {}
    for m in _MODULE.finditer(text):
        out[m.group(2)] = "blackbox" in m.group(1)
    return out


def _strip_modules(text, names):
    """``text`` without the declarations of modules ``names`` (attributes included)."""
    for name in names:
        pattern = re.compile(r"^\s*(?:\(\*[^*]*\*\)\s*)*module\s+" + re.escape(name) + r"\b.*?^\s*endmodule\b",
                             re.MULTILINE | re.DOTALL)
        text = pattern.sub("", text, count=1)
    return text


def _vendor_model_files(family):
    """Behavioural models of cells Yosys leaves as black boxes (sim/vendor/<family>/)."""
    if family == "ecp5":
        try:
            from .vendor_models import ecp5_models
        except ImportError:
            pass
        else:
            return [Path(p) for p in ecp5_models()]
    folder = Path(__file__).parent / "vendor" / family
    return sorted(folder.glob("*.v")) if folder.is_dir() else []


def _read_with_includes(path, includes, seen=None):
    seen = set() if seen is None else seen
    text = Path(path).read_text()
    parts = [text]
    for inc in re.findall(r'^\s*`include\s+"([^"]+)"', text, re.MULTILINE):
        for folder in [Path(path).parent, *includes]:
            candidate = Path(folder) / inc
            if candidate.exists() and candidate not in seen:
                seen.add(candidate)
                parts.append(_read_with_includes(candidate, includes, seen))
                break
    return "\n".join(parts)


def _library(family):
    """Yosys's simulation library for ``family`` as one text, includes expanded."""
    share = _share()
    if family == "ice40":
        return _read_with_includes(share / "ice40" / "cells_sim.v", [])
    if family == "ecp5":
        return _read_with_includes(share / "ecp5" / "cells_sim.v", [share / "ecp5"])
    raise ValueError(f"unknown family {family!r}: one of {FAMILIES}")


def _patch_for_icarus(text):
    # an elaboration-time $error (in a generate branch we never take) is
    # beyond Icarus 11: make it a run-time message
    return re.sub(r"^(\s*)\$error\((.*)\);", r"\1initial begin $display(\2); $finish; end", text, flags=re.MULTILINE)


def model_sources(family, cells, folder):
    """(model files, include folders, defines) to simulate a netlist using ``cells``.

    Writes ``cells_sim_<family>.v`` to ``folder``: Yosys's cell library for
    the family in one file (includes expanded, patched for Icarus 11), less
    the black boxes that a vendor model under ``sim/vendor/<family>/``
    defines; the vendor model files follow it. Raises :class:`NetlistError`
    for a cell of the netlist that would be simulated as an empty box.
    """
    library = _library(family)
    defines = {}
    if family == "ice40":
        # Icarus 11 cannot parse the input-port default values; Yosys's
        # `hierarchy` has already tied every unconnected input of a cell to
        # its default in the netlist, so the models do not need them
        defines["NO_ICE40_DEFAULT_ASSIGNMENTS"] = 1
    if family == "ecp5":
        # cells_sim.v's own `include lines are expanded already
        library = re.sub(r'^\s*`include\s+"[^"]+"', "", library, flags=re.MULTILINE)

    lib_modules = _modules(library)
    vendor = _vendor_model_files(family)
    vendor_modules = {}
    for f in vendor:
        for name, blackbox in _modules(Path(f).read_text()).items():
            if not blackbox:
                vendor_modules[name] = Path(f)

    used = {c for c in cells if c != "$scopeinfo"}
    internal = sorted(c for c in used if c.startswith("$"))
    if internal:
        raise NetlistError(f"the {family} netlist still has generic cells {internal}")
    missing = sorted(c for c in used if c not in vendor_modules and lib_modules.get(c, True))
    if missing:
        raise NetlistError(f"no simulation model for {', '.join(missing)} ({family}): "
                           f"add a behavioural model under sim/vendor/{family}/")

    clash = [name for name in vendor_modules if name in lib_modules]
    text = _patch_for_icarus(_strip_modules(library, clash))
    copy = Path(folder) / f"cells_sim_{family}.v"
    if not copy.exists() or copy.read_text() != text:
        copy.write_text(text)
    # every vendor model file (they may instantiate each other)
    models = [copy, *dict.fromkeys(vendor_modules.values())]
    return models, [], defines


# Verilator on a netlist with Yosys's cell models: the models are not lint-clean
# (multiple drivers in the RAM models, unconnected optional pins, specify blocks).
VERILATOR_NETLIST_ARGS = ["-Wno-lint", "-Wno-style", "-Wno-MULTIDRIVEN", "-Wno-PINMISSING",
                          "-Wno-TIMESCALEMOD", "-Wno-SPECIFYIGN", "-Wno-IMPLICIT", "-Wno-COMBDLY",
                          "-Wno-LATCH", "-Wno-NOLATCH", "-Wno-INITIALDLY", "-Wno-MULTITOP", "--no-timing"]
