"""The FS725 driver, command by command: no error queue, so every setting is read back."""

import pytest
from pymeasure.test import expected_protocol

from qnu.host.instruments import FS725, InstrumentReportedError, WrongInstrument

IDN = ("ID?", "PRS10_3.24_SN_19957")


def test_health_from_lock_and_status_bytes():
    with expected_protocol(FS725, [IDN, ("ST?", "0,0,0,0,4,0"), ("LO?", "1")]) as rb:
        health = rb.health()
    assert health.locked and health.ten_mhz_ok and health.pps_input and health.pps_locked
    with expected_protocol(FS725, [IDN, ("ST?", "0,0,0,2,129,0"), ("LO?", "0")]) as rb:
        health = rb.health()
    assert not health.locked and not health.ten_mhz_ok and not health.pps_input and not health.pps_locked


def test_settings_are_read_back():
    with expected_protocol(FS725, [IDN, ("PL1", None), ("PL?", "1"), ("LM0", None), ("LM?", "1")]) as rb:
        rb.pps_lock = True
        with pytest.raises(InstrumentReportedError, match="LM reads back '1'"):
            rb.lock_mode = False


def test_time_tag_and_identity():
    with expected_protocol(FS725, [IDN, ("TT?", "-12")]) as rb:
        assert rb.pps_time_tag_ns == -12
    with pytest.raises(WrongInstrument):
        with expected_protocol(FS725, [("ID?", "Stanford Research Systems,DG645,s/n1,1")]):
            pass
