"""Each driver through a real pyvisa ResourceManager on the pyvisa-sim definitions:
settings read back, and a value the instrument refuses comes back as its own error."""

import numpy as np
import pytest

from qnu.host.instruments import InstrumentReportedError, WrongInstrument, open_instrument
from qnu.sim.instruments import yaml_library


def test_dg645():
    dg = open_instrument("dg645", "GPIB0::15::INSTR", visa_library=yaml_library("dg645"))
    dg.A.delay = ("T0", 12.5e-9)
    dg.B.delay = ("A", 1e-6)
    assert dg.A.delay == ("T0", pytest.approx(12.5e-9)) and dg.B.delay == ("A", pytest.approx(1e-6))
    dg.out_CD.amplitude = 3.3
    dg.trigger_source = "single shot"
    assert dg.out_CD.amplitude == pytest.approx(3.3) and dg.trigger_source == "single shot"
    dg.trigger()
    with pytest.raises(InstrumentReportedError) as err:
        dg.write("BURP 5.0e1")                  # (past the driver's validator: the instrument's own refusal)
    assert err.value.errors == [(10, "Illegal Value")] and err.value.command == "BURP 5.0e1"
    assert dg.burst_period == pytest.approx(1e-3)


def test_the_same_resource_refused_as_another_instrument():
    with pytest.raises(WrongInstrument, match="expected 53220A.*DG645"):
        open_instrument("53220a", "GPIB0::15::INSTR", visa_library=yaml_library("dg645"))


def test_33500b_pulse_burst_and_a_refused_value():
    gen = open_instrument("33500b", "USB0::0x0957::0x2C07::MY52400000::INSTR",
                          visa_library=yaml_library("keysight33500b"))
    gen.ch_1.pulse(period_s=1e-6, width_s=20e-9, high_v=2.5)
    assert gen.ch_1.shape == "PULS" and gen.ch_1.pulse_width == pytest.approx(20e-9)
    with pytest.raises(InstrumentReportedError, match="Data out of range"):
        gen.write("SOUR2:FUNC:PULS:WIDT 1.000000e-09")     # (past the driver: the instrument's refusal)
    assert gen.ch_2.shape == "SIN" and gen.ch_2.pulse_width == pytest.approx(1e-4)
    gen.ch_2.burst(4)
    assert gen.ch_2.trigger_source == "BUS" and gen.ch_2.burst_ncycles == 4
    gen.trigger()


def test_53230a_time_interval_statistics_and_timestamps():
    counter = open_instrument("53230a", "USB0::0x0957::0x1907::MY50000002::INSTR",
                              visa_library=yaml_library("keysight53230a"))
    np.testing.assert_allclose(counter.time_interval(3, levels=(0.5, 0.5)), [12.5e-9, 12.51e-9, 12.49e-9])
    assert counter.ch_1.level == pytest.approx(0.5) and counter.sample_count == 3
    counter.statistics_enabled = True
    assert counter.statistics().std == pytest.approx(1e-11)
    np.testing.assert_allclose(counter.timestamps(3), [0, 1, 2])
    with pytest.raises(InstrumentReportedError, match="-222"):
        counter.write("INP2:LEV 7.000000")


def test_oscilloscope_delay_and_waveform():
    scope = open_instrument("scope", "USB0::0x2A8D::0x1770::MY00000001::INSTR",
                            visa_library=yaml_library("oscilloscope"))
    assert scope.delay(1, 2) == pytest.approx(12.5e-9)
    assert scope.delay_statistics(1, 2).count == 1000
    wave = scope.waveform(1)
    np.testing.assert_allclose(wave.volts, [0, 0, 3.3, 3.3, 0])
    np.testing.assert_allclose(wave.time_s, np.arange(5) * 1e-9 - 2e-9)
    with pytest.raises(InstrumentReportedError, match="Illegal parameter value"):
        scope.write(":TRIG:EDGE:LEV 8.000000")


def test_fs725_health_and_a_setting_read_back():
    rb = open_instrument("fs725", "ASRL1::INSTR", visa_library=yaml_library("fs725"))
    assert rb.identity.startswith("PRS10")
    health = rb.health()
    assert health.locked and health.ten_mhz_ok and health.pps_input and health.pps_locked
    rb.pps_lock = True
    assert rb.pps_lock is True
