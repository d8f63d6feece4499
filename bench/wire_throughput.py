#!/usr/bin/env python3
"""Tags on the wire: bytes per tag and tags per second against the UART line rate.

For each total event rate: start a virtual board (the whole Node in the
Verilator harness, its UART bridged bit by bit to a pty) with Poisson sources
split evenly over the channels, open it with the host library
(``qnu.host.Device``) and record while streaming. Everything is measured in
simulated time, on the node's own clock (its time and counter registers), not
in wall time:

- the window opens when the host reads the node's time just before enabling
  the channels (streaming is already on, so nothing piles up beforehand) and
  closes when it reads the counters right after the recording stopped the
  stream (no EVENTS frame follows the OK of STREAM 0);
- delivered tags/s: tags recorded / window; accepted/s and lost/s: the node's
  ``chN_events`` and ``chN_lost`` counters over the window;
- bytes/tag (wire): every byte of the EVENTS frames received (SLIP ENDs and
  escapes, kind, seq, record index, records, CRC) / tags; bytes/tag
  (records): the records alone (tags, ABSOLUTE and overflow markers);
- line use: EVENTS bytes/s x 10 bits (8N1) / the exact line rate
  (clock / divisor);
- accounting: after the recording the channels are disabled and what the node
  still held is drained with READ_EVENTS; then tags delivered + events lost
  (the overflow markers' counts) must equal the events the node accepted
  (its ``events`` counters), channel by channel, with no record missing on
  the link.

    python bench/wire_throughput.py [--clock-hz 100e6] [--baud 3e6] [--channels 4]
                                    [--rates 1e4,3e4,6e4,8e4,1e5,3e5,1e6] [--duration 0.25]

The Verilator harness of a node is built once (about a minute) and cached.
"""

import argparse
import time
from dataclasses import dataclass, field

import numpy as np

from qnu import wire
from qnu.host import Device, Recording
from qnu.sim.sources import Poisson
from qnu.sim.virtual_board import VirtualBoard

DEFAULT_RATES = (1e4, 3e4, 6e4, 8e4, 1e5, 3e5, 1e6)
_MASK32 = 0xFFFFFFFF
_HEADER = 6             # kind, seq, first record index u32
_CRC = 2
_DRAIN_FRAMES = 1000    # READ_EVENTS at most, to empty the node after a recording


@dataclass
class WireTally:
    """Byte counts of EVENTS frames, by what the bytes carry."""
    frames: int = 0
    wire: int = 0           # on the line: SLIP-framed
    slip: int = 0           # of which SLIP ENDs and escapes
    header: int = 0         # kind, seq and record index
    crc: int = 0
    tag_bytes: int = 0      # tag records
    absolute_bytes: int = 0
    marker_bytes: int = 0   # overflow markers
    tags: int = 0
    markers: int = 0
    lost: int = 0           # the markers' counts

    @property
    def records(self):
        return self.tag_bytes + self.absolute_bytes + self.marker_bytes

    def add(self, frame):
        framed = len(wire.build_frame(wire.Reply.EVENTS, frame.seq, frame.payload))
        body = 2 + len(frame.payload) + _CRC
        self.frames += 1
        self.wire += framed
        self.slip += framed - body
        self.header += _HEADER
        self.crc += _CRC
        data = frame.payload[4:]
        pos = 0
        while pos < len(data):
            start = pos
            value, pos = wire.decode_varint(data, pos)
            code = value & 0x7F
            if code == wire.RECORD_ABSOLUTE:
                pos += 8
                self.absolute_bytes += pos - start
            elif code == wire.RECORD_OVERFLOW:
                lost, pos = wire.decode_varint(data, pos + 1)
                self.marker_bytes += pos - start
                self.markers += 1
                self.lost += lost
            else:
                self.tag_bytes += pos - start
                self.tags += 1

    def copy(self):
        return WireTally(**self.__dict__)


def tap(link):
    """Count every EVENTS frame the link hands to the device (they all pass through take_events)."""
    tally = WireTally()
    take = link.take_events

    def take_and_count():
        frames = take()
        for frame in frames:
            tally.add(frame)
        return frames

    link.take_events = take_and_count
    return tally


@dataclass
class Result:
    offered_hz: float
    clock_hz: int
    divisor: int
    window_s: float             # simulated
    wall_s: float               # of the recording
    accepted: int               # events the node accepted in the window (counters)
    lost: int                   # events it lost in the window (counters)
    tags: int                   # tags recorded in the window
    wire: WireTally             # EVENTS frames of the recording
    # after draining the node: the whole run's accounting
    total_accepted: int
    total_lost: int
    total_delivered: int
    total_markers_lost: int
    missing: int                # records lost on the link (gaps)
    per_channel_ok: bool
    harness_bytes_out: int      # every byte the node's UART sent during the recording (the harness's count)
    harness_errors: int         # bytes the harness could not pass on: bad stop bits, overflowing the pty
    per_channel: dict = field(default_factory=dict)

    @property
    def line_baud(self):
        return self.clock_hz / self.divisor

    @property
    def delivered_hz(self):
        return self.tags / self.window_s

    @property
    def accepted_hz(self):
        return self.accepted / self.window_s

    @property
    def lost_hz(self):
        return self.lost / self.window_s

    @property
    def wire_bytes_per_tag(self):
        return self.wire.wire / self.tags if self.tags else float("inf")

    @property
    def record_bytes_per_tag(self):
        return self.wire.records / self.tags if self.tags else float("inf")

    @property
    def tags_per_frame(self):
        return self.tags / self.wire.frames if self.wire.frames else 0.0

    @property
    def line_use(self):
        return self.wire.wire * 10 / self.window_s / self.line_baud

    @property
    def accounting_ok(self):
        return (self.total_delivered + self.total_markers_lost == self.total_accepted
                and self.total_markers_lost == self.total_lost and self.missing == 0 and self.per_channel_ok)


def _settle(dev, board):
    """Drain what the node holds (channels off): READ_EVENTS until an empty frame; the TagBlocks."""
    blocks = []
    for _ in range(_DRAIN_FRAMES):
        block = dev.read_events()
        blocks.append(block)
        board.check()
        if not len(block) and not block.overflows and not block.gaps:
            return blocks
    raise RuntimeError(f"the node still had events after {_DRAIN_FRAMES} READ_EVENTS")


def measure(offered_hz, *, sim_seconds=0.25, clock_hz=100_000_000, baud=3_000_000, divisor=None, channels=4,
            samples_per_cycle=4, seed=1, wall_limit_s=120.0, log=None):
    """Record at ``offered_hz`` events/s in total (Poisson, split over the channels) for about
    ``sim_seconds`` of simulated time; a Result."""
    log = log or (lambda text: None)
    divisor = divisor or round(clock_hz / baud)
    sources = [Poisson((c,), rate=offered_hz / channels) for c in range(channels)]
    board = VirtualBoard(backend="verilator", channels=channels, samples_per_cycle=samples_per_cycle,
                         clock_hz=clock_hz, divisor=divisor, sources=sources, seed=seed, log=log)
    with board, Device(board.path, baudrate=round(clock_hz / divisor), timeout=5.0) as dev:
        tally = tap(dev.link)
        bin_s = float(dev.clock.bin_ps) / 1e12
        for c in range(channels):
            dev.configure(c, enable=False)
        start = dev.counters()
        # the recording's length is wall time: aim at sim_seconds with the harness's speed so far
        probe = board.status()
        time.sleep(0.3)
        speed = (board.status()["cycles"] - probe["cycles"]) / 0.3
        wall = min(wall_limit_s, sim_seconds * clock_hz / max(speed, 1.0))
        opened = {}

        def open_window(elapsed_s, tags):
            # first poll of the recording: the stream is on, nothing has been accepted yet
            if not opened:
                opened["time"] = dev.read_time()
                opened["tags"] = tags
                for c in range(channels):
                    dev.configure(c)
            board.check()

        before = board.status()
        rec = dev.record(duration_s=wall, progress=open_window)
        after_status = board.status()
        end = dev.counters()                # the window closes here: the stream is off
        recorded = tally.copy()
        for c in range(channels):
            dev.configure(c, enable=False)
        drained = Recording(_settle(dev, board))
        final = dev.counters()
    if opened.get("tags") != 0:
        raise AssertionError("tags arrived before the channels were enabled")
    window = (end.time_ticks - opened["time"]) * bin_s
    acc = (end.events - start.events) & _MASK32
    lost = (end.lost - start.lost) & _MASK32
    total_acc = (final.events - start.events) & _MASK32
    total_lost = (final.lost - start.lost) & _MASK32
    tags_r, lost_r = rec.per_channel(channels)
    tags_d, lost_d = drained.per_channel(channels)
    delivered_c, markers_c = tags_r + tags_d, lost_r + lost_d
    per_channel_ok = bool(np.all(delivered_c + markers_c == total_acc) and np.all(markers_c == total_lost))
    if recorded.tags != len(rec):
        raise AssertionError(f"the wire tally saw {recorded.tags} tags, the recording has {len(rec)}")
    return Result(
        offered_hz=offered_hz, clock_hz=clock_hz, divisor=divisor, window_s=window, wall_s=rec.duration_s,
        accepted=int(acc.sum()), lost=int(lost.sum()), tags=len(rec), wire=recorded,
        total_accepted=int(total_acc.sum()), total_lost=int(total_lost.sum()),
        total_delivered=int(delivered_c.sum()), total_markers_lost=int(markers_c.sum()),
        missing=rec.missing_total + drained.missing_total, per_channel_ok=per_channel_ok,
        harness_bytes_out=after_status["bytes_out"] - before["bytes_out"],
        harness_errors=after_status["framing_errors"] + after_status["dropped_out"],
        per_channel={"accepted": total_acc.tolist(), "delivered": delivered_c.tolist(),
                     "lost": markers_c.tolist()})


def _si(x):
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:g} {suffix}"
    return f"{x:g}"


def print_table(results):
    head = (f"{'offered ev/s':>12} | {'accepted/s':>10} | {'delivered tags/s':>16} | {'lost/s':>9} | "
            f"{'tags/frame':>10} | {'bytes/tag (wire)':>16} | {'bytes/tag (records)':>19} | "
            f"{'line use %':>10} | {'sim s':>6} | accounting")
    print(head)
    print("-" * len(head))
    for r in results:
        acct = (f"ok ({r.total_delivered:,} + {r.total_markers_lost:,} = {r.total_accepted:,})" if r.accounting_ok
                else f"MISMATCH: {r.total_delivered:,} delivered + {r.total_markers_lost:,} lost (markers) vs "
                     f"{r.total_accepted:,} accepted, {r.total_lost:,} lost (counters), {r.missing} missing, "
                     f"per channel {r.per_channel}")
        print(f"{_si(r.offered_hz):>12} | {r.accepted_hz:10,.0f} | {r.delivered_hz:16,.0f} | {r.lost_hz:9,.0f} | "
              f"{r.tags_per_frame:10.1f} | {r.wire_bytes_per_tag:16.2f} | {r.record_bytes_per_tag:19.2f} | "
              f"{100 * r.line_use:10.1f} | {r.window_s:6.3f} | {acct}")


def print_breakdown(results):
    print("\nwhere the EVENTS bytes go, per delivered tag (wire = tags + ABSOLUTE + markers + header + CRC + SLIP):")
    head = (f"{'offered ev/s':>12} | {'tag records':>11} | {'ABSOLUTE':>8} | {'overflow markers':>16} | "
            f"{'header':>6} | {'CRC':>5} | {'SLIP':>5} | {'markers/tag':>11} | {'events/marker':>13}")
    print(head)
    print("-" * len(head))
    for r in results:
        w, n = r.wire, max(r.tags, 1)
        per_marker = w.lost / w.markers if w.markers else 0
        print(f"{_si(r.offered_hz):>12} | {w.tag_bytes / n:11.2f} | {w.absolute_bytes / n:8.2f} | "
              f"{w.marker_bytes / n:16.2f} | {w.header / n:6.2f} | {w.crc / n:5.2f} | {w.slip / n:5.2f} | "
              f"{w.markers / n:11.3f} | {per_marker:13.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clock-hz", type=float, default=100e6, help="node clock (default 100 MHz)")
    parser.add_argument("--baud", type=float, default=3e6,
                        help="nominal UART baud rate; the divisor is clock/baud rounded (default 3 Mbaud)")
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--samples-per-cycle", type=int, default=4, choices=(1, 2, 4, 8))
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in DEFAULT_RATES),
                        help="total offered event rates, events per simulated second, comma-separated")
    parser.add_argument("--duration", type=float, default=0.25,
                        help="simulated seconds to record at each rate (aimed at from the harness speed; "
                             "the table gives the window measured on the node's clock)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    clock_hz = int(args.clock_hz)
    divisor = round(clock_hz / args.baud)
    line_baud = clock_hz / divisor
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    print(f"node: {clock_hz / 1e6:g} MHz, {args.samples_per_cycle} samples/cycle "
          f"({1e12 / (clock_hz * args.samples_per_cycle):g} ps ticks), {args.channels} channels; "
          f"UART divisor {divisor}: {line_baud:,.0f} baud exactly (nominal {args.baud:,.0f}), 8N1, "
          f"{line_baud / 10:,.0f} bytes/s")
    print(f"Poisson sources split evenly over the channels; about {args.duration:g} simulated s per rate; "
          f"all rates per simulated second, on the node's clock\n")
    t0 = time.monotonic()
    results = []
    for i, rate in enumerate(rates):
        results.append(measure(rate, sim_seconds=args.duration, clock_hz=clock_hz, divisor=divisor,
                               channels=args.channels, samples_per_cycle=args.samples_per_cycle,
                               seed=args.seed + i, log=print))
    print_table(results)
    print_breakdown(results)
    best = max(results, key=lambda r: r.delivered_hz)
    limit = line_baud / 10 / best.wire_bytes_per_tag
    print(f"\nmax sustained: {best.delivered_hz:,.0f} tags/s (at {_si(best.offered_hz)} events/s offered, "
          f"{best.wire_bytes_per_tag:.2f} bytes/tag on the wire, line {100 * best.line_use:.1f} % busy) = "
          f"{100 * best.delivered_hz / limit:.1f} % of the line-rate limit {limit:,.0f} tags/s "
          f"({line_baud / 10:,.0f} bytes/s / {best.wire_bytes_per_tag:.2f} bytes/tag)")
    top = max(results, key=lambda r: r.offered_hz)
    if top is not best and top.delivered_hz < 0.5 * best.delivered_hz:
        print(f"past the line rate, delivered tags/s fall: {top.delivered_hz:,.0f} at {_si(top.offered_hz)} "
              f"events/s offered, with the line {100 * top.line_use:.1f} % busy carrying "
              f"{top.wire.markers / max(top.tags, 1):.1f} overflow markers per tag")
    events_bytes = sum(r.wire.wire for r in results)
    uart_bytes = sum(r.harness_bytes_out for r in results)
    print(f"wire check: the node's UART sent {uart_bytes:,} bytes during the recordings (harness count), "
          f"{events_bytes:,} in the EVENTS frames the host counted, {uart_bytes - events_bytes:,} in replies; "
          f"{sum(r.harness_errors for r in results)} bytes garbled or dropped by the bridge")
    print(f"records alone: {best.record_bytes_per_tag:.2f} bytes/tag would allow "
          f"{line_baud / 10 / best.record_bytes_per_tag:,.0f} tags/s; accounting "
          f"{'holds at every rate' if all(r.accounting_ok for r in results) else 'FAILS at some rate'}; "
          f"{time.monotonic() - t0:.0f} s wall")


if __name__ == "__main__":
    main()
