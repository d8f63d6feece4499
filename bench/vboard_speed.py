#!/usr/bin/env python3
"""Simulation speed of the virtual board's backends, with sources running and tags streaming.

For each backend: start a virtual board (the whole Node: timing core, UART,
protocol engine), enable every channel, start streaming, read the pty, and
count the system cycles simulated over a fixed wall time (start-up and the
harness build are not counted). Prints cycles/s and the ratio to the
1 M cycles/s target.

    python bench/vboard_speed.py [--seconds 5] [--backend verilator --backend amaranth]
                                 [--source 0:poisson:rate=1e5 ...]
"""

import argparse
import time

import serial

from qnu import wire
from qnu.regmap import CHANNEL_BASE, CHANNEL_STRIDE
from qnu.sim.sources import parse_source
from qnu.sim.virtual_board import BACKENDS, VirtualBoard

TARGET = 1_000_000
DEFAULT_SOURCES = ["0:poisson:rate=1e5", "1:periodic:period=10us",
                   "2,3:pair:rate=5e4,delay=12.5ns,jitter=300ps,efficiency=0.5,noise=1e4"]


def measure(backend, sources, seconds, channels=4, samples_per_cycle=4):
    board = VirtualBoard(backend=backend, channels=channels, samples_per_cycle=samples_per_cycle,
                         sources=[parse_source(s) for s in sources], seed=1,
                         divisor=8 if backend == "verilator" else 4, log=print)
    with board, serial.Serial(board.path, timeout=0.05) as port:
        for seq, ch in enumerate(range(channels)):       # enable, rising edges
            port.write(wire.build_frame(wire.Command.WRITE, seq,
                                        wire.pack_write(CHANNEL_BASE + ch * CHANNEL_STRIDE, [0b011])))
        port.write(wire.build_frame(wire.Command.STREAM, channels, b"\x01"))
        decoder, received = wire.SlipDecoder(), 0
        start, t0 = board.status(), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            received += len(decoder.feed(port.read(max(1, port.in_waiting))))
        end = board.status()
    rate = (end["cycles"] - start["cycles"]) / (end.get("seconds", 0) - start.get("seconds", 0))
    return rate, end, received


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="wall time per backend")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="default: both")
    parser.add_argument("--source", action="append", help="default: " + " ".join(DEFAULT_SOURCES))
    args = parser.parse_args(argv)
    sources = args.source or DEFAULT_SOURCES
    print(f"virtual board, 4 channels, 4 samples/cycle, sources: {' '.join(sources)}")
    for backend in args.backend or BACKENDS:
        rate, end, frames = measure(backend, sources, args.seconds)
        print(f"  {backend:9s} {rate:14,.0f} cycles/s   {rate / TARGET:8.4f} x the 1 M cycles/s target   "
              f"({end['cycles']:,} cycles, {end['bytes_out']:,} bytes and {frames:,} frames from the node)")


if __name__ == "__main__":
    main()
