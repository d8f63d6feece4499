"""Register accessors: by name, in bursts, with refusals before and after the wire."""

import pytest

from qnu.host.errors import AccessError, DeviceError, UnknownRegister
from qnu.host.registers import field_values, plan_bursts
from qnu.regmap import register_map
from qnu.wire import MAX_BURST, Command, ErrorCode


def frames(node, kind):
    return [payload for k, _, payload in node.requests if k == kind]


def test_bursts_cover_runs_of_consecutive_addresses():
    assert plan_bursts([6, 1, 2, 3, 5, 2]) == [(1, 3), (5, 2)]
    assert plan_bursts(range(40)) == [(0, MAX_BURST), (MAX_BURST, 40 - MAX_BURST)]
    assert plan_bursts([]) == []


def test_fields_split_a_value():
    config = register_map(2)["config"]
    assert field_values(config, 2 | 4 << 8 | 1 << 16) == {"channels": 2, "samples_per_cycle": 4,
                                                          "protocol_version": 1}


def test_read_and_write_by_attribute_and_by_name(dev, node):
    dev.regs.scratch = 0xDEADBEEF
    assert node.register("scratch") == 0xDEADBEEF
    assert dev.regs.scratch == dev.regs["scratch"] == 0xDEADBEEF
    dev.regs["ch1_delay"] = 1234
    assert node.register("ch1_delay") == 1234 and dev.regs.ch1_delay == 1234
    assert "ch1_delay" in dev.regs and "ch9_delay" not in dev.regs
    assert "scratch" in dir(dev.regs)


def test_a_64_bit_value_is_one_register_read_and_written_in_one_burst(dev, node):
    lo, hi = dev.regs.map["pulse_period_lo"].address, dev.regs.map["pulse_period_hi"].address
    writes, reads = len(frames(node, Command.WRITE)), len(frames(node, Command.READ))
    dev.regs.pulse_period = 0x1_2345_6789
    assert (node.register("pulse_period_lo"), node.register("pulse_period_hi")) == (0x2345_6789, 1)
    payload, = frames(node, Command.WRITE)[writes:]
    assert payload[:3] == bytes([lo & 0xFF, lo >> 8, 2]) and hi == lo + 1
    assert dev.regs.pulse_period == 0x1_2345_6789 and len(frames(node, Command.READ)) == reads + 1
    assert "pulse_period" in dev.regs and "time" in dev.regs and "time_cmd" in dev.regs
    with pytest.raises(ValueError, match="64 bits"):
        dev.regs.pulse_period = 1 << 64
    with pytest.raises(UnknownRegister, match="pulse_period"):
        dev.regs.pulse_perod = 5
    # reading lo latches hi: one burst, lo first
    dev.regs.read("time")
    assert frames(node, Command.READ)[-1] == bytes([0x08, 0x00, 2])


def test_read_all_reads_every_readable_register_in_one_burst_per_run(dev, node):
    readable = [r for r in dev.regs.map if r.readable]
    before = len(frames(node, Command.READ))
    values = dev.regs.read_all()
    assert list(values) == [r.name for r in readable]
    assert values["magic"] == 0x514E5531 and values["clock_hz"] == 100_000_000
    assert len(frames(node, Command.READ)) - before == len(plan_bursts(r.address for r in readable))


def test_writes_of_consecutive_registers_go_in_one_frame(dev, node):
    dev.regs.write({"ch0_dead_time": 3, "ch0_ctrl": 1, "ch0_delay": 2})
    payload, = frames(node, Command.WRITE)
    assert payload[:3] == bytes([0x00, 0x01, 3])           # address 0x0100 little-endian, 3 registers
    assert [node.register(f"ch0_{n}") for n in ("ctrl", "delay", "dead_time")] == [1, 2, 3]


def test_a_read_only_register_is_refused_before_the_wire(dev, node):
    sent = len(node.requests)
    with pytest.raises(DeviceError, match="refused by the host before sending") as e:
        dev.regs.magic = 1
    assert e.value.code == ErrorCode.READ_ONLY and e.value.by_host and e.value.register == "magic"
    assert len(node.requests) == sent


def test_a_raw_write_to_a_read_only_register_is_refused_by_the_node(dev, node):
    address = dev.regs.map["ch0_events"].address
    with pytest.raises(DeviceError, match="refused by the node: READ_ONLY") as e:
        dev.link.write(address - 1, [5, 6])                 # ch0_dead_time (rw), then ch0_events (ro)
    assert (e.value.code, e.value.detail, e.value.by_host) == (ErrorCode.READ_ONLY, address, False)
    assert node.register("ch0_dead_time") == 0              # nothing of a refused frame is applied
    assert node.register("err_read_only") == 1


def test_a_node_refusal_names_the_register(dev, node):
    with pytest.raises(DeviceError, match="BAD_VALUE .* register 'time_cmd'") as e:
        dev.regs.write({"time_arg_lo": 5, "time_arg_hi": 0, "time_cmd": 3})     # one burst
    assert e.value.code == ErrorCode.BAD_VALUE
    assert node.register("time_arg_lo") == 0


def test_unknown_names_suggest_close_ones(dev):
    with pytest.raises(KeyError, match="no register named 'scrach'; did you mean 'scratch'") as e:
        dev.regs["scrach"]
    assert isinstance(e.value, UnknownRegister)
    with pytest.raises(UnknownRegister, match="'ch1_delay'"):
        dev.regs.ch1_dealy = 3
    assert getattr(dev.regs, "no_such_thing", None) is None


def test_values_must_fit_the_register(dev, node):
    sent = len(node.requests)
    with pytest.raises(ValueError, match="'ch0_delay' holds 16 bits: 0 to 0xffff"):
        dev.regs.ch0_delay = 1 << 16
    with pytest.raises(ValueError):
        dev.regs.scratch = -1
    assert len(node.requests) == sent


def test_write_only_registers_cannot_be_read(dev):
    with pytest.raises(AccessError, match="'time_cmd' is write-only"):
        dev.regs.time_cmd
