"""The 53220A / 53230A counter driver, command by command."""

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from qnu.host.instruments import Keysight53220A, Keysight53230A, SettingRefused

IDN20 = ("*IDN?", "Agilent Technologies,53220A,MY50000001,02.05-1519.666-1.19-4.15-127-155-35")
IDN30 = ("*IDN?", "Keysight Technologies,53230A,MY50000002,02.05-1519.666-1.19-4.15-127-155-35")
OK = ("SYST:ERR?", '+0,"No error"')


def test_time_intervals_with_levels_and_slopes():
    with expected_protocol(Keysight53220A, [IDN20, ("CONF:TINT (@1),(@2)", None), OK,
                                            ("INP1:LEV 0.5000", None), OK, ("INP1:SLOP POS", None), OK,
                                            ("INP2:LEV 1.0000", None), OK, ("INP2:SLOP NEG", None), OK,
                                            ("SAMP:COUN 3", None), OK,
                                            ("READ?", "+1.2E-08,+1.21E-08,+1.19E-08")]) as counter:
        got = counter.time_interval(3, levels=(0.5, 1.0), slopes=("POS", "NEG"))
    np.testing.assert_allclose(got, [12e-9, 12.1e-9, 11.9e-9])


def test_frequency_and_the_counters_statistics():
    with expected_protocol(Keysight53220A, [IDN20, ("CONF:FREQ (@2)", None), OK, ("SAMP:COUN 1", None), OK,
                                            ("READ?", "+1.0000000001E+07"), ("CALC:AVER:STAT 1", None), OK,
                                            ("CALC:AVER:ALL?", "+1E-08,+2E-11,+9.9E-09,+1.01E-08"),
                                            ("CALC:AVER:CLE", None), OK]) as counter:
        assert counter.frequency(2)[0] == pytest.approx(1e7 + 1e-3)
        counter.statistics_enabled = True
        stats = counter.statistics()
        counter.clear_statistics()
    assert stats.mean == pytest.approx(1e-8) and stats.std == pytest.approx(2e-11)


def test_timestamps_on_the_53230A_and_a_clear_refusal_on_the_53220A():
    with expected_protocol(Keysight53230A, [IDN30, ("MEAS:ARR:TST? 3,(@1)", "+0,+1.0E-06,+2.0E-06")]) as c:
        np.testing.assert_allclose(c.timestamps(3), [0, 1e-6, 2e-6])
    with expected_protocol(Keysight53220A, [IDN20]) as c:
        with pytest.raises(SettingRefused, match="53230A"):
            c.timestamps(3)


def test_inputs_and_counts_out_of_range_are_refused_before_sending():
    with expected_protocol(Keysight53220A, [IDN20]) as counter:
        with pytest.raises(SettingRefused, match="no input 3"):
            counter.frequency(3)
        with pytest.raises(SettingRefused, match="readings"):
            counter.time_interval(0)
        with pytest.raises(ValueError):
            counter.ch_1.impedance = 75
