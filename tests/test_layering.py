"""The layers import downwards only: `qnu` below `sim` and `host`, and `sim` never imports `host`,
so models and analysis run without a serial port library."""

import subprocess
import sys

import pytest

PROBE = """
import sys
class _NoSerial:
    def find_spec(self, name, path=None, target=None):
        if name == "serial" or name.startswith("serial.") or name.startswith("qnu.host"):
            raise ImportError(f"{name} imported")
sys.meta_path.insert(0, _NoSerial())
import MODULE
"""


@pytest.mark.parametrize("module", ["qnu.analysis", "qnu.recording", "qnu.units", "qnu.regmap", "qnu.wire",
                                    "qnu.sim.model", "qnu.sim.sequencer_model", "qnu.sim.protocol_model",
                                    "qnu.sim.demo", "qnu.sim.instruments.dg645_model", "qnu.ptu"])
def test_imports_without_host_or_pyserial(module):
    result = subprocess.run([sys.executable, "-c", PROBE.replace("MODULE", module)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
