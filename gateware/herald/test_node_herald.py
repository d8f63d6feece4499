"""The herald unit through a whole Node: registers and READ_EVENTS over the
real UART, herald pulses at the node's trigger port, the attempt loop stopped."""

from qnu import wire
from qnu.gateware.test_node import request, run as run_node
from qnu.herald import Outcome, pack_table, scheme_table, pattern_bit
from qnu.regmap import Features, OutputSource, register_map, StopReason
from qnu.sim.herald_model import HeraldModel, HeraldSettings, LATENCY_CYCLES
from qnu.wire import Command, Reply, ErrorCode

N, CHANNELS, OUTPUTS = 2, 4, 4
FEATURES = Features(outputs=OUTPUTS, sequencer=True, attempts=True, herald=True)
REGS = register_map(CHANNELS, FEATURES)
PERIOD, START, OFFSET, WIDTH = 80, 30_000, 20, 16


async def write(ctx, host, seq, **values):
    """WRITE bursts of consecutive registers; the first refusal's reply, or the last OK."""
    regs = sorted((REGS[name] for name in values), key=lambda r: r.address)
    runs = [[regs[0]]]
    for r in regs[1:]:
        if r.address == runs[-1][-1].address + 1:
            runs[-1].append(r)
        else:
            runs.append([r])
    for run in runs:
        reply = await request(ctx, host, Command.WRITE, seq,
                              wire.pack_write(run[0].address, [values[r.name] for r in run]))
        if reply[0] != Reply.OK:
            break
    return reply


async def read(ctx, host, seq, *names):
    out = []
    for name in names:
        kind, _, payload = await request(ctx, host, Command.READ, seq, wire.pack_read(REGS[name].address, 1))
        assert kind == Reply.OK
        out += wire.unpack_words(payload)
    return out


def herald_registers(table, **ctrl):
    regs = {f"her_table{i}": w for i, w in enumerate(pack_table(table))}
    regs.update(her_detectors=(1 | 1 << 7) | (2 | 1 << 7) << 8, her_win0_offset=OFFSET, her_win0_width=WIDTH,
                her_out=0 | 1 << 4 | 3 << 16)
    return regs


def test_a_click_heralds_stops_the_loop_and_is_recorded():
    table, _ = scheme_table("single-click")
    click = START + 3 * PERIOD + OFFSET + 5          # in attempt 3's window, on detector 0 (channel 1)
    results = {"triggers": []}

    async def bench(ctx, dut, host):
        assert (await write(ctx, host, 1, **herald_registers(table)))[0] == Reply.OK
        assert (await write(ctx, host, 1, ch1_ctrl=0b011, ch2_ctrl=0b011))[0] == Reply.OK  # tag rising edges
        for k in (0, 1):
            assert (await write(ctx, host, 2 + k, **{f"out{k}_ctrl": int(OutputSource.HERALD)}))[0] == Reply.OK
        # refused: enabling with the loop's period shorter than the window's end
        assert (await write(ctx, host, 4, att_period=OFFSET + WIDTH - 1))[0] == Reply.OK
        kind, _, payload = await write(ctx, host, 5, her_ctrl=1 | 1 << 2 | 0b0110 << 8)
        assert wire.unpack_error(payload) == (ErrorCode.BAD_VALUE, REGS["her_ctrl"].address)
        loop = {"att_start_lo": START, "att_start_hi": 0, "att_period": PERIOD, "att_count": 0,
                "att_stop": 0b10, "att_pat0_offset": 0, "att_pat0_ctrl": 2 | 1 << 4 | 4 << 16}
        assert (await write(ctx, host, 6, **loop))[0] == Reply.OK
        assert (await write(ctx, host, 7, her_ctrl=1 | 1 << 2 | 0b0110 << 8))[0] == Reply.OK
        assert (await write(ctx, host, 8, att_ctrl=1))[0] == Reply.OK
        while ctx.get(dut.core.now) < click + 20 * PERIOD:
            now = ctx.get(dut.core.now)
            ctx.set(dut.samples[1], sum(1 << i for i in range(N) if click <= now + i < click + 3))
            results["triggers"].append((now, [ctx.get(dut.triggers[k]) for k in range(OUTPUTS)]))
            await ctx.tick()
        results["status"] = await read(ctx, host, 9, "att_status", "att_attempts", "her_references", "her_fail",
                                       "her_psi_plus", "her_psi_minus", "her_reject", "her_latency")
        kind, _, payload = await request(ctx, host, Command.READ_EVENTS, 10)
        assert kind == Reply.EVENTS_READ
        results["records"] = wire.decode_records(wire.unpack_events(payload)[1])

    run_node(bench, features=FEATURES, queue_depth=16, build_id=0, channels=CHANNELS)
    status, attempts, references, fail, plus, minus, reject, latency = results["status"]
    assert results["records"][-1] == wire.Record(click, 1, "rising")
    assert status >> 4 == StopReason.HERALD
    # the model: attempts every PERIOD from START; the herald stops the loop after attempt 3
    settings = HeraldSettings(N, detectors=(1, 2), windows=((OFFSET, WIDTH),), table=tuple(table),
                              record=frozenset(Outcome))
    decisions, _ = HeraldModel(settings).run([START + i * PERIOD for i in range(attempts)], {1: [click]})
    assert [d.outcome for d in decisions] == [Outcome.FAIL] * 3 + [Outcome.PSI_PLUS] + \
        [Outcome.FAIL] * (attempts - 4)
    assert (references, fail, plus, minus, reject, latency) == (attempts, attempts - 1, 1, 0, 0, LATENCY_CYCLES)
    heralds = [r for r in results["records"] if r.kind == "herald"]
    decisions = [d for d in decisions if d.outcome.success]         # (only successes are recorded)
    assert heralds == [wire.HeraldRecord(d.reference, d.attempt, d.outcome, d.multi, d.pattern,
                                         {pattern_bit(det, w).bit_length() - 1: t for (det, w), t in d.clicks.items()})
                       for d in decisions]
    assert heralds[0].clicks == {0: OFFSET + 5} and heralds[0].attempt == 3
    # the success line: WIDTH... 3 ticks from the word LATENCY_CYCLES after the decision's
    rises = [now + i for (now, words), (_, before) in zip(results["triggers"][1:], results["triggers"])
             for i in range(N) if words[0] >> i & 1 and not (words[0] >> i - 1 & 1 if i else before[0] >> N - 1 & 1)]
    assert rises == [decisions[0].herald_tick]
    assert not any(words[1] for _, words in results["triggers"])       # psi+: the state line stays low
