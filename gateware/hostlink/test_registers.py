from amaranth.hdl import ResetInserter, Signal
from amaranth.sim import Simulator

from qnu.gateware.hostlink.registers import RegisterBank
from qnu.regmap import register_map


def make_bank():
    regmap = register_map(1)
    counted = ["err_crc", "ch0_events"]
    sources = {r.name: Signal(32, name=r.name) for r in regmap
               if r.access == "ro" and r.name not in counted}
    bank = RegisterBank(regmap, sources, resets={"pulse_period_lo": 1234}, counters=counted)
    return regmap, bank


def test_reads_answer_two_cycles_later_and_a_reset_restores_the_read_back_values():
    """rw registers read back what was written (from the RAM copy), their reset value
    before, and again after a reset (the copy is then stale: it must not be used);
    counters count; a read answers two cycles later."""
    regmap, bank = make_bank()
    rst = Signal()
    dut = ResetInserter(rst)(bank)

    # the address is held a cycle before it is used; a read answers two cycles later
    async def read(ctx, name):
        ctx.set(bank.addr, regmap[name].address)
        await ctx.tick()
        ctx.set(bank.read, 1)
        await ctx.tick()
        ctx.set(bank.read, 0)
        await ctx.tick()
        return ctx.get(bank.read_data)

    async def write(ctx, name, value):
        ctx.set(bank.addr, regmap[name].address)
        await ctx.tick()
        assert ctx.get(bank.exists) and ctx.get(bank.writable)
        ctx.set(bank.write_data, value)
        ctx.set(bank.write, 1)
        await ctx.tick()
        ctx.set(bank.write, 0)

    async def bench(ctx):
        assert await read(ctx, "pulse_period_lo") == 1234
        assert await read(ctx, "scratch") == 0
        await write(ctx, "scratch", 0xDEAD_BEEF)
        await write(ctx, "ch0_delay", 0x1_2345)             # 16 bits implemented
        await write(ctx, "pulse_period_lo", 99)
        assert await read(ctx, "scratch") == 0xDEAD_BEEF
        assert await read(ctx, "ch0_delay") == 0x2345
        assert await read(ctx, "pulse_period_lo") == 99
        assert ctx.get(bank.value("ch0_delay")) == 0x2345
        ctx.set(bank.counter("ch0_events"), 1)
        await ctx.tick().repeat(200)                        # the low bits wrap: the RAM word counts too
        ctx.set(bank.counter("ch0_events"), 0)
        await ctx.tick()                                    # (the counter file registers its inputs)
        assert await read(ctx, "ch0_events") == 200
        assert await read(ctx, "err_crc") == 0
        ctx.set(rst, 1)
        await ctx.tick()
        ctx.set(rst, 0)
        assert await read(ctx, "scratch") == 0
        assert await read(ctx, "ch0_delay") == 0
        assert await read(ctx, "pulse_period_lo") == 1234
        assert ctx.get(bank.value("pulse_period_lo")) == 1234
        # the counters start again from zero once the counter file's first round is done
        ctx.set(bank.counter("ch0_events"), 1)
        await ctx.tick().repeat(3)
        ctx.set(bank.counter("ch0_events"), 0)
        await ctx.tick().repeat(3)
        assert await read(ctx, "ch0_events") == 3

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
