#!/usr/bin/env python3
"""Output figures, measured on the gateware node in the Verilator virtual board:

- **events queued per second over the serial link**: the host library sends
  SCHEDULE frames of output events as fast as the link and the node's replies
  allow, at the real line rate (the UART divisor of ``--baud`` at
  ``--clock-hz``); the rate is events accepted over the node's own elapsed
  time (its time register read before and after), so the simulator's speed
  does not enter. All are scheduled far ahead, so none is late.
- **attempt rate the loop sustains**: the attempt loop replays a one-pulse
  pattern at periods down to one core cycle, with an output looped back to an
  input; the rate is measured from the looped pulses' tags: (tags - 1) over
  the time from the first to the last, and every attempt must be tagged.

    python bench/outputs_speed.py [--clock-hz 100e6] [--baud 3e6] [--events 2000]
"""

import argparse

from qnu.host import AttemptPulse, Device, OutputSource, Pulse
from qnu.sim.virtual_board import Loopback, VirtualBoard
from qnu.wire import MAX_SCHEDULE


def schedule_rate(dev, events):
    """Events per second of node time that the host keeps queued."""
    depth = dev.sequencer.depth
    outputs = dev.features.outputs
    now = dev.read_time()
    # far ahead (about 20 s of node time): nothing plays or is late while we measure
    base = now + 8_000_000_000
    sent, t0 = 0, dev.read_time()
    while sent < min(events, depth * outputs):
        batch = [Pulse((sent + i) % outputs, (base + 8 * (sent + i)) * 2500, 2500)
                 for i in range(MAX_SCHEDULE)]
        sent += dev.sequencer.schedule(batch)
    seconds = float((dev.read_time() - t0) * dev.clock.bin_ps) / 1e12
    return sent, seconds


def attempt_rate(dev, period_ticks, count):
    """Run ``count`` attempts of a one-pulse pattern every ``period_ticks`` with output 0
    looped to input 1; (pulses tagged, events the node lost, attempts per second measured
    from the tags: (tags - 1) over the time from the first to the last)."""
    bin_ps = int(dev.clock.bin_ps)
    dev.outputs[0].source = OutputSource.SEQUENCER
    dev.configure(1, rising=True, dead_time_ps=0)       # (at least one core cycle)
    dev.attempts.start(period_ps=period_ticks * bin_ps, count=count, pattern=[AttemptPulse(0, 0, bin_ps)],
                       lead_s=0.001)
    rec = dev.record(until=lambda: not dev.attempts.status().running, poll_s=0.05)
    dev.configure(1, enable=False)
    stamps = rec.tags().timestamp_ps
    rate = (len(stamps) - 1) * 1e12 / float(stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return len(stamps), rec.lost_total, rate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clock-hz", type=float, default=100e6)
    p.add_argument("--baud", type=float, default=3e6)
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--count", type=int, default=200, help="attempts per period measured (the node's "
                                                              "event FIFO holds them all at one per cycle)")
    args = p.parse_args(argv)
    divisor = round(args.clock_hz / args.baud)
    n = 4
    board = VirtualBoard(channels=2, samples_per_cycle=n, clock_hz=int(args.clock_hz), divisor=divisor, outputs=4,
                         loopbacks=[Loopback(0, 1, 0)])
    with board, Device(board.path, timeout=10) as dev:
        sent, seconds = schedule_rate(dev, args.events)
        line = args.clock_hz / divisor
        print(f"sequencer: {sent} events queued in {seconds * 1e3:.2f} ms of node time over a "
              f"{line / 1e6:g} Mbaud link: {sent / seconds:,.0f} events/s "
              f"({line / 10 / (sent / seconds):.1f} bytes on the line per event)")
        for period in (4 * n, 2 * n, n):        # ticks: four, two and one core cycles
            tagged, lost, rate = attempt_rate(dev, period, args.count)
            print(f"attempt loop: period {period} ticks ({period / n:g} cycles): {tagged} of {args.count} "
                  f"looped pulses tagged ({lost} lost), measured {rate / 1e6:,.2f} M attempts/s "
                  f"(at {args.clock_hz / 1e6:g} MHz: one attempt per {args.clock_hz / rate:.2f} core cycles)")


if __name__ == "__main__":
    main()
