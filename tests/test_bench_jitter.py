"""`qnu bench jitter` with a simulated 33522B on a socket driving the virtual board: the
measured jitter is the source's Gaussian jitter and the bin's quantization, as the
analytic formula for a quantized Gaussian (Sheppard) gives."""

import json

import numpy as np
import pytest

from qnu.host.bench.jitter import fit_period, measure_jitter
from qnu.host.device import Device
from qnu.host.instruments import open_instrument
from qnu.sim.instruments.generator_model import GeneratorModel, parse_generator_wiring
from qnu.sim.instruments.server import InstrumentServer
from qnu.sim.virtual_board import VirtualBoard

BIN_PS = 2_500


def test_fit_period_ignores_a_missing_pulse():
    k = np.array([0, 1, 2, 4, 5, 6])
    t = 17 + k * 1_000_003 + np.array([0, 5, -5, 0, 5, -5])
    t0, period, residuals, kk = fit_period(t, 1_000_000)
    assert list(kk) == list(k) and period == pytest.approx(1_000_003, abs=3)
    assert np.abs(residuals).max() < 10


@pytest.mark.parametrize("jitter_ps", [1_000, 3_000])
def test_jitter_is_the_sources_and_the_bins(tmp_path, jitter_ps):
    model = GeneratorModel(parse_generator_wiring("1:2:1.3ns"), jitter_ps=jitter_ps)
    with VirtualBoard(sources=[model], live=True) as vb, InstrumentServer(model) as server:
        gen = open_instrument("33500b", server.resource)
        with Device(vb.path) as dev:
            result = measure_jitter(dev, gen, 2, period_s=20e-6, pulses=600, output=tmp_path, progress=False)
            assert dev.channel_config(2).enable is False                # the channel as it was
        assert gen.ch_1.output is False                                 # the generator as it was
    expected = np.sqrt(jitter_ps ** 2 + BIN_PS ** 2 / 12)              # Sheppard: Gaussian + uniform bin
    # (the RMS of 600 samples scatters by about 1/sqrt(2 * 600) = 3 %)
    assert result["rms_ps"] == pytest.approx(expected, rel=0.12)
    assert result["period_ps"] == pytest.approx(20e6, abs=50) and result["missed_pulses"] == 0
    saved = json.loads((tmp_path / "jitter.json").read_text())
    assert saved["complete"] and (tmp_path / "jitter.png").stat().st_size > 0
