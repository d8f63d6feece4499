"""The virtual board's portable backend: the Node in Amaranth's simulator.

Slow (thousands of cycles per second) but needs nothing compiled. Three
testbenches share the clock: one drives ``samples`` from the stimulus
stream, one bit-bangs bytes from the pty onto ``uart_rx``, one decodes
``uart_tx`` mid-bit and queues bytes for the pty. The same conventions as
the compiled harness (vboard.cpp): cycle 0 is the first clock edge.
"""

import os
import threading
import time

from amaranth.sim import Simulator

__all__ = ["AmaranthBackend"]


async def _ticks(ctx, count):
    # not ctx.tick().repeat(): its async generator complains when the
    # simulation ends with a background testbench suspended inside it
    for _ in range(count):
        await ctx.tick()


class AmaranthBackend:
    name = "amaranth"

    def __init__(self, node, feed, master_fd, *, divisor, poll_cycles=64, loopbacks=()):
        self.node, self.feed, self.fd = node, feed, master_fd
        self.loopbacks = list(loopbacks)       # (output, input, delay in ticks): cables
        self.divisor, self.poll_cycles = divisor, poll_cycles
        self.cycles = self.bytes_in = self.bytes_out = self.framing_errors = 0
        self.error = None
        self._out = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vboard-amaranth", daemon=True)
        self._t0 = None

    def start(self):
        os.set_blocking(self.fd, False)
        self._t0 = time.perf_counter()
        self._thread.start()

    @property
    def alive(self):
        return self._thread.is_alive()

    def status(self):
        dt = time.perf_counter() - self._t0
        return {"cycles": self.cycles, "seconds": dt, "cycles_per_second": self.cycles / dt if dt else 0.0,
                "bytes_in": self.bytes_in, "bytes_out": self.bytes_out, "framing_errors": self.framing_errors}

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)
        return self.status()

    def died(self):
        """Why the backend stopped on its own, or None."""
        if self.alive or self._stop.is_set():
            return None
        return f"the Amaranth simulation stopped: {self.error!r}"

    def _run(self):
        sim = Simulator(self.node)
        sim.add_clock(1 / self.node.clock_hz)
        sim.add_testbench(self._drive_looped if self.loopbacks else self._drive, background=True)
        sim.add_testbench(self._uart_out, background=True)
        sim.add_testbench(self._uart_in)
        try:
            sim.run()
        except BaseException as e:      # reported by died()
            self.error = e

    async def _drive(self, ctx):
        if self.feed.idle:
            return
        samples, cur = self.node.samples.as_value(), 0
        while True:
            chunk = self.feed.next_chunk()
            for cycle, word in zip(chunk.cycles.tolist(), chunk.ints()):
                if cycle > cur:
                    await _ticks(ctx, cycle - cur)
                    cur = cycle
                ctx.set(samples, word)
            if chunk.end_cycle > cur:       # never generate ahead of the clock
                await _ticks(ctx, chunk.end_cycle - cur)
                cur = chunk.end_cycle

    async def _drive_looped(self, ctx):
        """Cycle by cycle: the stimulus word in force, ORed with each cable's delayed
        output ticks (the conventions of vboard.cpp: the output word during cycle c
        and the input word captured at its end hold the same ticks)."""
        n = self.node.samples_per_cycle
        samples, triggers = self.node.samples.as_value(), self.node.triggers.as_value()
        records = iter(()) if self.feed.idle else self._records()
        pending = next(records, None)
        held, cycle = 0, 0
        history = {}            # (output, tick) -> bit, for the ticks a cable still needs
        longest = max(d for _, _, d in self.loopbacks) + 2 * n
        while True:
            while pending is not None and pending[0] <= cycle:
                held = pending[1]
                pending = next(records, None)
            out_word = ctx.get(triggers)
            word = held
            for output, channel, delay in self.loopbacks:
                for i in range(n):
                    t = cycle * n + i
                    history[output, t] = out_word >> (output * n + i) & 1
                    history.pop((output, t - longest), None)
                    if history.get((output, t - delay), 0):
                        word |= 1 << (channel * n + i)
            ctx.set(samples, word)
            await ctx.tick()
            cycle += 1

    def _records(self):
        while True:
            chunk = self.feed.next_chunk()
            yield from zip(chunk.cycles.tolist(), chunk.ints())

    async def _uart_in(self, ctx):
        d = self.divisor
        self._t0 = time.perf_counter()      # elaboration done: count simulation time only
        while not self._stop.is_set():
            self._flush()
            try:
                data = os.read(self.fd, 64)
            except (BlockingIOError, OSError):
                data = b""
            if not data:
                await _ticks(ctx, self.poll_cycles)
                self.cycles += self.poll_cycles
                continue
            self.bytes_in += len(data)
            for byte in data:
                if self._stop.is_set():
                    return
                for bit in (0, *((byte >> i) & 1 for i in range(8)), 1):
                    ctx.set(self.node.uart_rx, bit)
                    await _ticks(ctx, d)
                    self.cycles += d
                self._flush()

    async def _uart_out(self, ctx):
        tx, d = self.node.uart_tx, self.divisor
        while True:
            await ctx.negedge(tx)
            await _ticks(ctx, d // 2)
            if ctx.get(tx):
                continue                    # a glitch, not a start bit
            byte = 0
            for i in range(8):
                await _ticks(ctx, d)
                byte |= ctx.get(tx) << i
            await _ticks(ctx, d)
            if ctx.get(tx):
                self._out.append(byte)
                self.bytes_out += 1
            else:
                self.framing_errors += 1

    def _flush(self):
        if self._out:
            try:
                del self._out[:os.write(self.fd, self._out)]
            except (BlockingIOError, OSError):
                pass
