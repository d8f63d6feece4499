"""Run the timing core in Amaranth's simulator with stimuli from :mod:`qnu.sim.stimulus`."""

from dataclasses import dataclass, field

from amaranth.sim import Simulator

from .model import Event, ChannelSettings, RISING, FALLING, OVERFLOW
from .stimulus import word_stream

__all__ = ["CoreRun", "run_core", "KIND_NAMES"]

KIND_NAMES = {0: RISING, 1: FALLING, 2: OVERFLOW}


@dataclass
class CoreRun:
    events: list = field(default_factory=list)
    event_counts: list = field(default_factory=list)
    lost_counts: list = field(default_factory=list)
    first_tick: int = 0
    cycles: int = 0


def run_core(core, waveforms, settings, *, cycles, bin_ps, ready=None, drain=200, vcd=None):
    """Drive ``cycles`` cycles of stimulus, then drain; return what came out.

    ``ready(cycle) -> bool`` is the consumer's readiness (always ready if None).
    Draining lasts until the stream has been idle for ``drain`` cycles.
    """
    n, chans = core.samples_per_cycle, core.channels
    run = CoreRun()

    async def configure_and_drive(ctx):
        for c in range(chans):
            cfg = settings.get(c, ChannelSettings(enable=False))
            port = core.channel_config[c]
            ctx.set(port.enable, cfg.enable)
            ctx.set(port.rising, cfg.rising)
            ctx.set(port.falling, cfg.falling)
            ctx.set(port.delay, cfg.delay)
            ctx.set(port.dead_time, cfg.dead_time)
        await ctx.tick()
        run.first_tick = first = ctx.get(core.now)
        words = word_stream(waveforms, chans, bin_ps=bin_ps, samples_per_cycle=n,
                            first_tick=first, cycles=cycles)
        idle = 0
        cycle = 0
        while cycle < cycles or idle < drain:
            ctx.set(core.samples.as_value(), words[cycle] if cycle < cycles else 0)
            ctx.set(core.events.ready, 1 if ready is None else ready(cycle))
            if cycle < cycles:
                assert ctx.get(core.now) == first + cycle * n
            _, _, valid = await ctx.tick().sample(core.events.valid)
            idle = 0 if valid else idle + 1
            cycle += 1
        run.cycles = cycle
        run.event_counts = [ctx.get(core.event_counts[c]) for c in range(chans)]
        run.lost_counts = [ctx.get(core.lost_counts[c]) for c in range(chans)]

    async def monitor(ctx):
        async for _, _, valid, ready_, payload in ctx.tick().sample(
                core.events.valid, core.events.ready, core.events.payload):
            if valid and ready_:
                run.events.append(Event(payload.timestamp, payload.channel,
                                        KIND_NAMES[payload.kind.value], payload.lost))

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(configure_and_drive)
    sim.add_testbench(monitor, background=True)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return run
