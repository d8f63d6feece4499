"""The 33500B / 33600A driver, command by command."""

import pytest
from pymeasure.test import expected_protocol

from qnu.host.instruments import InstrumentReportedError, Keysight33500B, Keysight33600A, WrongInstrument

IDN = ("*IDN?", "Agilent Technologies,33522B,MY52400000,3.05-1.19-2.00-52-00")
OK = ("SYST:ERR?", '+0,"No error"')


def test_identification_tells_the_two_series_apart():
    with expected_protocol(Keysight33600A, [("*IDN?", "Keysight Technologies,33622A,MY1,A.02")]) as gen:
        assert "33622A" in gen.identity
    with pytest.raises(WrongInstrument, match="expected 33600A"):
        with expected_protocol(Keysight33600A, [IDN]):
            pass


def test_channel_triggers_and_the_bus_trigger():
    with expected_protocol(Keysight33500B, [IDN, ("TRIG2:SOUR BUS", None), OK, ("TRIG2:SLOP NEG", None), OK,
                                            ("TRIG1:DEL 2.500000000000e-08", None), OK, ("TRIG1:SOUR?", "EXT"),
                                            ("*TRG", None), OK]) as gen:
        gen.ch_2.trigger_source = "BUS"
        gen.ch_2.trigger_slope = "NEG"
        gen.ch_1.trigger_delay = 25e-9
        assert gen.ch_1.trigger_source == "EXT"
        gen.trigger()
        with pytest.raises(ValueError):
            gen.ch_1.trigger_source = "LINE"


def test_a_pulse_train_is_set_whole():
    before = [("SOUR1:FUNC?", "SIN"), ("SOUR1:FUNC:PULS:PER?", "1e-3"), ("SOUR1:FUNC:PULS:WIDT?", "1e-4"),
              ("SOUR1:VOLT:HIGH?", "0.1"), ("SOUR1:VOLT:LOW?", "-0.1")]
    sets = [("SOUR1:FUNC PULS", None), OK, ("SOUR1:FUNC:PULS:PER 1.000000e-06", None), OK,
            ("SOUR1:FUNC:PULS:WIDT 2.000000e-08", None), OK, ("SOUR1:VOLT:HIGH 2.500000", None), OK,
            ("SOUR1:VOLT:LOW 0.000000", None), OK]
    with expected_protocol(Keysight33500B, [IDN, *before, *sets]) as gen:
        gen.ch_1.pulse(period_s=1e-6, width_s=20e-9, high_v=2.5)


def test_a_refused_pulse_leaves_the_channel_as_it_was():
    before = [("SOUR2:FUNC?", "SIN"), ("SOUR2:FUNC:PULS:PER?", "1e-3"), ("SOUR2:FUNC:PULS:WIDT?", "1e-4"),
              ("SOUR2:VOLT:HIGH?", "0.1"), ("SOUR2:VOLT:LOW?", "-0.1")]
    sets = [("SOUR2:FUNC PULS", None), OK, ("SOUR2:FUNC:PULS:PER 1.000000e-06", None), OK,
            ("SOUR2:FUNC:PULS:WIDT 2.000000e-06", None), ("SYST:ERR?", '-222,"Data out of range;width"'), OK]
    undo = [("SOUR2:FUNC:PULS:PER 1.000000e-03", None), OK, ("SOUR2:FUNC SIN", None), OK]
    with expected_protocol(Keysight33500B, [IDN, *before, *sets, *undo]) as gen:
        with pytest.raises(InstrumentReportedError) as err:
            gen.ch_2.pulse(period_s=1e-6, width_s=2e-6, high_v=2.5)
    assert err.value.errors == [(-222, "Data out of range;width")]


def test_a_burst_on_a_bus_trigger():
    before = [("SOUR1:BURS:MODE?", "TRIG"), ("SOUR1:BURS:NCYC?", "1"), ("TRIG1:SOUR?", "IMM"),
              ("TRIG1:DEL?", "0"), ("SOUR1:BURS:STAT?", "0")]
    sets = [("SOUR1:BURS:MODE TRIG", None), OK, ("SOUR1:BURS:NCYC 3", None), OK, ("TRIG1:SOUR BUS", None), OK,
            ("TRIG1:DEL 0.000000000000e+00", None), OK, ("SOUR1:BURS:STAT 1", None), OK]
    with expected_protocol(Keysight33500B, [IDN, *before, *sets]) as gen:
        gen.ch_1.burst(3)


def test_pymeasures_own_properties_check_the_queue_too():
    with expected_protocol(Keysight33500B, [IDN, ("OUTP1 1", None), ("SYST:ERR?", '-221,"Settings conflict"'),
                                            OK]) as gen:
        with pytest.raises(InstrumentReportedError, match="Settings conflict"):
            gen.ch_1.output = True
