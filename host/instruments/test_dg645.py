"""The DG645 driver, command by command (PyMeasure's expected_protocol: no instrument)."""

import pytest
from pymeasure.test import expected_protocol

from qnu.host.instruments import DG645, InstrumentReportedError, SettingRefused, WrongInstrument

IDN = ("*IDN?", "Stanford Research Systems,DG645,s/n001776,ver1.00.10E")
OK = ("LERR?", "0")


def test_the_wrong_instrument_is_refused_by_name():
    with pytest.raises(WrongInstrument, match="expected DG645.*Agilent Technologies,33522B"):
        with expected_protocol(DG645, [("*IDN?", "Agilent Technologies,33522B,MY1,1.0")]):
            pass


def test_delays_per_channel_and_reference():
    with expected_protocol(DG645, [IDN, ("DLAY 2,0,1.250000000000e-08", None), OK,
                                   ("DLAY 3,2,5.000000000000e-12", None), OK,
                                   ("DLAY?3", "2,+0.000000000005")]) as dg:
        dg.A.delay = ("T0", 12.5e-9)
        dg.channel("B").delay = ("A", 5e-12)
        assert dg.B.delay == ("A", pytest.approx(5e-12))


@pytest.mark.parametrize("value, message", [(("X", 1e-9), "no channel 'X'"), (("T0", 2001.0), "at most 2000"),
                                            (1e-9, "reference channel, seconds")])
def test_a_bad_delay_is_refused_before_anything_is_sent(value, message):
    with expected_protocol(DG645, [IDN]) as dg:
        with pytest.raises(SettingRefused, match=message):
            dg.C.delay = value


def test_trigger_and_burst():
    with expected_protocol(DG645, [IDN, ("TSRC 5", None), OK, ("TSRC?", "1"), ("TRAT 1.000000e+03", None), OK,
                                   ("TLVL 1.25", None), OK, ("BURM 1", None), OK, ("BURC 10", None), OK,
                                   ("BURP 1.000000000000e-06", None), OK, ("BURD 0.000000000000e+00", None), OK,
                                   ("*TRG", None), OK, OK]) as dg:
        dg.trigger_source = "single shot"
        assert dg.trigger_source == "external rising"
        dg.trigger_rate = 1e3
        dg.trigger_level = 1.25
        dg.burst = True
        dg.burst_count = 10
        dg.burst_period = 1e-6
        dg.burst_delay = 0.0
        dg.trigger()


def test_output_levels_and_polarity():
    with expected_protocol(DG645, [IDN, ("LAMP 1,2.50", None), OK, ("LOFF 2,-0.50", None), OK,
                                   ("LPOL 3,0", None), OK, ("LPOL?4", "1")]) as dg:
        dg.out_AB.amplitude = 2.5
        dg.out_CD.offset = -0.5
        dg.out_EF.positive = False
        assert dg.out_GH.positive is True
        with pytest.raises(ValueError):
            dg.out_AB.amplitude = 6


def test_an_error_in_the_queue_is_raised_with_the_manuals_text_and_the_command():
    with expected_protocol(DG645, [IDN, ("DLAY 2,0,1.000000000000e+03", None), ("LERR?", "12"), ("LERR?", "15"),
                                   OK]) as dg:
        with pytest.raises(InstrumentReportedError) as err:
            dg.A.delay = ("T0", 1000.0)
    assert err.value.errors == [(12, "Illegal Delay"), (15, "Not Allowed")]
    assert err.value.command == "DLAY 2,0,1.000000000000e+03" and "Illegal Delay" in str(err.value)


def test_several_settings_as_one_are_undone_when_one_is_refused():
    with expected_protocol(DG645, [IDN, ("BURC?", "1"), ("BURP?", "0.001"),
                                   ("BURC 5", None), OK, ("BURP 1.000000000000e-06", None), ("LERR?", "10"), OK,
                                   ("BURC 1", None), OK]) as dg:
        with pytest.raises(InstrumentReportedError, match="Illegal Value"):
            dg.apply(dg, burst_count=5, burst_period=1e-6)
