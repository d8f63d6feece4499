"""Small reusable cocotb drivers and monitors for the timing core's ports.

Every class acts on the falling clock edge: by then the registered outputs of
the rising edge have settled in every simulator, and what it drives is stable
for the next rising edge.
"""

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

__all__ = ["Fields", "SampleDriver", "StreamSink", "pack_config", "unpack_array"]


class Fields:
    """Decode a flat bit vector by an ordered {name: width} map, LSB first."""

    def __init__(self, widths):
        self.widths = dict(widths)
        self.offsets = {}
        offset = 0
        for name, width in self.widths.items():
            self.offsets[name] = offset
            offset += width
        self.size = offset

    def unpack(self, value):
        return {name: (value >> self.offsets[name]) & ((1 << w) - 1)
                for name, w in self.widths.items()}

    def pack(self, **values):
        out = 0
        for name, v in values.items():
            if not 0 <= int(v) < (1 << self.widths[name]):
                raise ValueError(f"{name}={v} does not fit in {self.widths[name]} bits")
            out |= int(v) << self.offsets[name]
        return out


def pack_config(fields, configs):
    """Pack per-channel config dicts into the flat ``channel_config`` vector."""
    out = 0
    for c, cfg in enumerate(configs):
        out |= fields.pack(**cfg) << (c * fields.size)
    return out


def unpack_array(value, width, count):
    return [(value >> (i * width)) & ((1 << width) - 1) for i in range(count)]


class SampleDriver:
    """Drive one precomputed ``samples`` word per cycle, then zeros.

    ``words_for(first_tick)`` is called with the timebase value of the first
    driven cycle and returns the words; each cycle the driver checks that the
    timebase advanced by ``samples_per_cycle`` so the words line up.
    """

    def __init__(self, dut, samples_per_cycle):
        self.dut = dut
        self.n = samples_per_cycle
        self.first_tick = None
        self.done = False

    async def run(self, words_for):
        dut = self.dut
        await FallingEdge(dut.clk)
        self.first_tick = int(dut.now.value)
        words = words_for(self.first_tick)
        expected = self.first_tick
        for word in words:
            now = int(dut.now.value)
            assert now == expected, f"timebase at {now}, expected {expected}"
            dut.samples.value = word
            expected += self.n
            await FallingEdge(dut.clk)
        dut.samples.value = 0
        self.done = True


class StreamSink:
    """Consume a valid/ready stream, recording each transferred payload.

    ``ready`` is a callable giving, per cycle, whether to accept (always, by
    default): a pause pattern for backpressure.
    """

    def __init__(self, dut, prefix, *, ready=None):
        self.dut = dut
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready_sig = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.ready = ready or (lambda cycle: True)
        self.records = []
        self.idle_cycles = 0
        self._task = None

    def start(self):
        self._task = cocotb.start_soon(self._run())
        return self

    def stop(self):
        if self._task is not None:
            self._task.cancel()

    async def _run(self):
        cycle = 0
        while True:
            await FallingEdge(self.dut.clk)
            accept = bool(self.ready(cycle))
            self.ready_sig.value = int(accept)
            if int(self.valid.value):
                self.idle_cycles = 0
                if accept:
                    self.records.append(int(self.payload.value))
            else:
                self.idle_cycles += 1
            cycle += 1

    async def wait_idle(self, cycles, limit=10**7):
        """Wait until the stream has offered nothing for ``cycles`` cycles."""
        for _ in range(limit):
            await RisingEdge(self.dut.clk)
            if self.idle_cycles >= cycles:
                return
        raise TimeoutError("stream never went idle")
