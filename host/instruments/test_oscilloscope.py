"""The generic SCPI oscilloscope driver, command by command."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from qnu.host.instruments import InstrumentError, ScpiOscilloscope, SettingRefused

IDN = ("*IDN?", "KEYSIGHT TECHNOLOGIES,DSOX3024T,MY1,07.50")
OK = (":SYST:ERR?", '+0,"No error"')


def test_delay_and_its_statistics():
    with expected_protocol(ScpiOscilloscope, [IDN, (":MEAS:DEL? CHAN1,CHAN3", "+1.25E-08"),
                                              (":MEAS:CLE", None), OK, (":MEAS:STAT ON", None), OK,
                                              (":MEAS:DEL CHAN1,CHAN2", None), OK,
                                              (":MEAS:STAT:RES?", "Delay(1-2),1.2E-08,1.1E-08,1.3E-08,1.2E-08,5E-10,100")
                                              ]) as scope:
        assert scope.delay(1, 3) == pytest.approx(12.5e-9)
        stats = scope.delay_statistics(1, 2)
    assert stats.mean == pytest.approx(12e-9) and stats.count == 100


def test_a_waveform_with_its_time_axis():
    with expected_protocol(ScpiOscilloscope, [IDN, (":WAV:SOUR CHAN2", None), OK, (":WAV:FORM ASC", None), OK,
                                              (":WAV:PRE?", "4,0,4,1,1.0E-09,-2.0E-09,0,0.01,0,0"),
                                              (":WAV:DATA?", "#800000023 0.0,0.1,3.3,3.3")]) as scope:
        wave = scope.waveform(2)
    np.testing.assert_allclose(wave.time_s, [-2e-9, -1e-9, 0, 1e-9])
    np.testing.assert_allclose(wave.volts, [0, 0.1, 3.3, 3.3])


def test_channels_trigger_and_refusals():
    with expected_protocol(ScpiOscilloscope, [IDN, (":CHAN1:SCAL 5.000000e-01", None), OK,
                                              (":TRIG:EDGE:SOUR CHAN2", None), OK, (":TRIG:EDGE:LEV 1.2000", None),
                                              (":SYST:ERR?", '-224,"Illegal parameter value"'), OK,
                                              (":WAV:SOUR CHAN1", None), OK, (":WAV:FORM ASC", None), OK,
                                              (":WAV:PRE?", "4,0,3,1,1.0E-09,0,0,0.01,0,0"),
                                              (":WAV:DATA?", "0.0,0.1")]) as scope:
        scope.ch_1.scale = 0.5
        scope.trigger_source = "CHAN2"
        with pytest.raises(InstrumentError, match="Illegal parameter value"):
            scope.trigger_level = 1.2
        with pytest.raises(SettingRefused, match="no channel 5"):
            scope.delay(1, 5)
        with pytest.raises(InstrumentError, match="promised 3 points"):
            scope.waveform(1)
