"""`qnu bench sync-check` against two nodes served with a simulated 53230A watching their
pulse-per-period outputs: nodes A and B of the link co-simulation (`qnu sim serve --link FILE
--counter 1:A.OUT0,2:B.OUT0`), and two separate live virtual boards (`--nodes 2`). Node B's
time stepped back by three ticks puts its pulse 7.5 ns after A's: the counter shows it, with
the counter's own noise as the RMS."""

import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from qnu.host.bench.sync_check import unwrap_intervals
from qnu.host.device import Device

NOISE_PS = 20
BIN_PS = 2_500


def test_unwrap_intervals():
    np.testing.assert_allclose(unwrap_intervals([1e-9, 0.99e-6, 0.4e-6], 1e-6), [1e-9, -0.01e-6, 0.4e-6])


LINK = """seed = 2
[attempts]
period = "10us"
[fibre]
length_a = "1km"
length_b = "1.2km"
"""


@pytest.fixture(params=["link", "nodes"])
def two_nodes(request, tmp_path):
    if request.param == "link":             # (long fibres: the co-simulation's chunks are long)
        (tmp_path / "link.toml").write_text(LINK)
        served = ["--link", str(tmp_path / "link.toml")]
    else:
        served = ["--nodes", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "qnu.host.cli", "sim", "serve", *served, "--counter",
                             "1:A.OUT0,2:B.OUT0", "--counter-noise", f"{NOISE_PS}ps"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ports, resource, lines = [], None, []
    deadline = time.monotonic() + 300
    while resource is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        ports += re.findall(r"serving node [AB] on (\S+)", line)
        resource = resource or (re.search(r"counter on (\S+)", line) or [None, None])[1]
    try:
        assert len(ports) == 2 and resource, "".join(lines)
        yield ports, resource
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_sync_check_sees_node_b_three_ticks_late(two_nodes, tmp_path, capsys):
    from qnu.host.cli import main
    (a, b), resource = two_nodes
    with Device(a) as dev:
        before = (dev.outputs[0].source, dev.regs.read("pulse_period_lo", "pulse_period_hi"))
    with Device(b) as dev:
        dev.step_time(-3)
    main(["bench", "sync-check", "--port-a", a, "--port-b", b, "--counter", resource, "--period", "10us",
          "--readings", "40", "--output", str(tmp_path)])
    result = json.loads((tmp_path / "sync_check.json").read_text())
    assert result["complete"] and (tmp_path / "sync_check.png").stat().st_size > 0
    assert result["mean_ps"] == pytest.approx(3 * BIN_PS, abs=4 * NOISE_PS / np.sqrt(40))
    assert 0.6 * NOISE_PS < result["rms_ps"] < 1.5 * NOISE_PS          # the counter's single-shot error
    assert "B after A: mean" in capsys.readouterr().out
    with Device(a) as dev:                                              # put back as it was
        assert (dev.outputs[0].source, dev.regs.read("pulse_period_lo", "pulse_period_hi")) == before
