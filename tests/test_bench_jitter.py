"""`qnu bench jitter` with a simulated 33522B on a socket driving the virtual board: the
measured jitter is the source's Gaussian jitter seen through the bins, as the exact
formula for a quantized Gaussian gives."""

import json
import math

import numpy as np
import pytest

from qnu.host.bench.jitter import fit_period, measure_jitter
from qnu.host.device import Device
from qnu.host.instruments import open_instrument
from qnu.sim.instruments.generator_model import GeneratorModel, parse_generator_wiring
from qnu.sim.instruments.server import InstrumentServer
from qnu.sim.virtual_board import VirtualBoard

BIN_PS = 2_500
CABLE_PS = 1_300


def quantized_gaussian_rms(offset_ps, sigma_ps, bin_ps):
    """RMS of the tag of an edge at offset + N(0, sigma): a sample at tick s sees the edges at or
    before s * bin, so the tag is bin * ceil(t / bin), with P(tick j) from the normal CDF."""
    cdf = lambda x: 0.5 * (1 + math.erf(x / (sigma_ps * math.sqrt(2))))
    span = range(math.floor((offset_ps - 8 * sigma_ps) / bin_ps), math.ceil((offset_ps + 8 * sigma_ps) / bin_ps) + 1)
    p = np.array([cdf(j * bin_ps - offset_ps) - cdf((j - 1) * bin_ps - offset_ps) for j in span])
    t = np.array(span) * bin_ps
    mean = (p * t).sum()
    return math.sqrt((p * (t - mean) ** 2).sum())


def test_fit_period_ignores_a_missing_pulse():
    k = np.array([0, 1, 2, 4, 5, 6])
    t = 17 + k * 1_000_003 + np.array([0, 5, -5, 0, 5, -5])
    t0, period, residuals, kk = fit_period(t, 1_000_000)
    assert list(kk) == list(k) and period == pytest.approx(1_000_003, abs=3)
    assert np.abs(residuals).max() < 10


@pytest.mark.parametrize("jitter_ps", [1_000, 3_000])
def test_jitter_is_the_sources_and_the_bins(tmp_path, jitter_ps):
    model = GeneratorModel(parse_generator_wiring(f"1:2:{CABLE_PS}ps"), jitter_ps=jitter_ps)
    with VirtualBoard(sources=[model], live=True, seed=jitter_ps) as vb, InstrumentServer(model) as server:
        gen = open_instrument("33500b", server.resource)
        with Device(vb.path) as dev:
            result = measure_jitter(dev, gen, 2, period_s=20e-6, pulses=600, output=tmp_path, progress=False)
            assert dev.channel_config(2).enable is False                # the channel as it was
        assert gen.ch_1.output is False                                 # the generator as it was
    expected = quantized_gaussian_rms(CABLE_PS, jitter_ps, BIN_PS)     # (pulses every 8000 bins: one offset)
    # (the RMS of 600 samples scatters by about 1/sqrt(2 * 600) = 3 %)
    assert result["rms_ps"] == pytest.approx(expected, rel=0.12)
    assert result["period_ps"] == pytest.approx(20e6, abs=50) and result["missed_pulses"] == 0
    saved = json.loads((tmp_path / "jitter.json").read_text())
    assert saved["complete"] and (tmp_path / "jitter.png").stat().st_size > 0
