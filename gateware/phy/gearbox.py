"""Sample gearboxes between a fast PHY clock and the core clock (platform-free).

``SampleWidener(channels, samples_in=4, ratio=2, i_domain="sclk", o_domain="sync")``
turns ``samples_in`` samples per ``i_domain`` cycle (an ECP5 x2 input PHY: 4
samples at 200 MHz) into ``samples_in * ratio`` samples per ``o_domain`` cycle
(on the ULX3S, ``ratio=4``: 16 samples at the 50 MHz core clock). ``SampleNarrower`` (same arguments,
``i_domain="sync"``, ``o_domain="sclk"``) is the reverse, for output PHYs.

Sample order is the timing core's: ``ArrayLayout(N, channels)``, word ``[c]``
is channel ``c``'s N samples, bit 0 the earliest. The sample stream of each
channel is carried through unchanged: ``ratio`` consecutive narrow words,
earliest first, make one wide word (narrow word 0 in bits 0..N-1), and no
sample is ever lost, duplicated or reordered.

Both clocks come from one PLL, so their rates are exactly ``ratio`` : 1, but
their phase is fixed only at power-up. Each crossing is therefore a ring of
``DEPTH`` words of the slower side in LUT RAM, safe at any phase, built for
the 200 MHz side of an ECP5 at speed grade 6: because both sides move one
word per slow-clock cycle for good once started, the pointers are plain
counters, and the Gray copies that cross the clocks serve only to start the
reader and to check the distance between the two, on registered paths (a
general ``AsyncFIFO`` decodes the crossed pointer on its read-enable path,
which does not reach 200 MHz there). With equal rates the distance stays
constant, so the latency is constant from the start on; it depends on the
phase and on when the reader started (a few slow-clock cycles, not known at
build time; under 12, in simulation about 100 ns at 50/200 MHz): a timestamp
offset to calibrate once per power-up, as for any cable.

``SampleWidener`` (the fast side writes) keeps one ring per channel and no
reset or shared signal on its fast side at all (see the class). ``SampleNarrower``
(the fast side reads; one or a few trigger outputs) uses one FIFO whose writer
holds off until the reading side is out of reset, and whose reader waits for
the first word plus ``SLACK`` cycles; reset both of its domains together.
``valid`` (output side) rises when the output stream starts; ``error``
(sticky, output side) reports the distance between writer and reader ever
leaving its safe range (a word due that is not there, or one overwritten
before it was read), which clocks at exactly ``ratio`` : 1 never cause.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["SampleWidener", "SampleNarrower"]

DEPTH = 16      # words of the slower side: room for pointer-synchroniser delay both ways
                # (an ECP5 LUT RAM is 16 deep anyway)
PIPELINE = 2    # fast-side registers between the pins' I/O logic and the FIFOs: the route from
                # an I/O at the chip's edge to a FIFO placed near the core spans several cycles
SLACK = 2       # words the reader stays behind the writer as it sees it (a synchroniser may take a cycle more)
START_MOVES = SLACK + 4     # writes the widener's reader waits for before it starts


def _check(component, channels, samples_in, ratio):
    for name, value in (("channels", channels), ("samples_in", samples_in), ("ratio", ratio)):
        if not isinstance(value, int) or value < 1:
            component._MustUse__silence = True      # never built: no "unused" warning
            raise ValueError(f"{name} must be a positive integer, not {value!r}")


def _lanes(value, channels, width):
    """Per-channel slices of a flat FIFO word: channel c at bits [c*width, (c+1)*width)."""
    return [value[c * width:(c + 1) * width] for c in range(channels)]


def _writer_may_push(m, read_domain, write_domain):
    """1 in the write domain once the read domain is out of reset: until then the
    writer holds off, so a late reader never finds the FIFO already full."""
    reader_alive = Signal()
    m.d[read_domain] += reader_alive.eq(1)
    may_push = Signal()
    m.submodules.reader_alive = FFSynchronizer(reader_alive, may_push, o_domain=write_domain)
    return may_push


def _gray(value):
    return value ^ (value >> 1)


def _from_gray(m, gray):
    binary = Signal.like(gray)
    for i in range(len(gray)):
        m.d.comb += binary[i].eq(gray[i:].xor())
    return binary


class _Crossing(wiring.Component):
    """A FIFO between two clocks that move words at the same rate.

    ``w_en``/``w_data`` write and ``r_en`` reads (``r_data`` is the word at the
    read pointer, read asynchronously from distributed RAM). Nothing checks
    ``r_en`` or ``w_en`` against the fill level on their own paths: the
    owner starts reading once ``r_empty`` falls and then keeps pace.
    ``r_empty`` (read domain) is whether the reader has caught up as it sees the writer, a few
    cycles late; ``underflow`` (read domain) and ``overflow`` (write domain)
    are sticky.
    """

    def __init__(self, width, *, w_domain, r_domain):
        self._w, self._r = w_domain, r_domain
        self._ptr = (DEPTH - 1).bit_length() + 1
        super().__init__({
            "w_en": In(1), "w_data": In(width), "overflow": Out(1),
            "r_en": In(1), "r_data": Out(width), "r_empty": Out(1, init=1),
            "underflow": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        w, r = self._w, self._r
        m.submodules.storage = storage = memory.Memory(shape=len(self.w_data), depth=DEPTH, init=[])
        write = storage.write_port(domain=w)
        read = storage.read_port(domain="comb")

        w_ptr = Signal(self._ptr)
        r_ptr = Signal(self._ptr)
        m.d.comb += [write.addr.eq(w_ptr[:-1]), write.data.eq(self.w_data), write.en.eq(self.w_en),
                     read.addr.eq(r_ptr[:-1]), self.r_data.eq(read.data)]
        with m.If(self.w_en):
            m.d[w] += w_ptr.eq(w_ptr + 1)
        with m.If(self.r_en):
            m.d[r] += r_ptr.eq(r_ptr + 1)

        # Gray copies, registered in their own domain, cross; every use is registered
        w_gray, r_gray = Signal(self._ptr), Signal(self._ptr)
        m.d[w] += w_gray.eq(_gray(w_ptr))
        m.d[r] += r_gray.eq(_gray(r_ptr))
        w_gray_in_r, r_gray_in_w = Signal(self._ptr), Signal(self._ptr)
        m.submodules.w_gray_sync = FFSynchronizer(w_gray, w_gray_in_r, o_domain=r)
        m.submodules.r_gray_sync = FFSynchronizer(r_gray, r_gray_in_w, o_domain=w)
        r_seen = Signal(self._ptr)
        m.d[w] += r_seen.eq(_from_gray(m, r_gray_in_w))

        # the reader sees the writer late (emptier), the writer sees the reader late (fuller).
        # The reader compares Gray codes: an equality needs no conversion to binary (whose
        # XOR chain, four LUTs deep, was SCLK's longest path), and both codes are a cycle old.
        m.d[r] += self.r_empty.eq(w_gray_in_r == r_gray)
        w_level = Signal(self._ptr)
        m.d[w] += w_level.eq(w_ptr - r_seen)
        with m.If(self.r_en & self.r_empty):
            m.d[r] += self.underflow.eq(1)
        with m.If(self.w_en & (w_level >= DEPTH)):
            m.d[w] += self.overflow.eq(1)
        return m


def _errors(m, crossing, domain, name="overflow_sync"):
    """The crossing's underflow, or its overflow brought over, in the read ``domain``."""
    overflow_seen = Signal(name=f"{name}_seen")
    m.submodules[name] = FFSynchronizer(crossing.overflow, overflow_seen, o_domain=domain)
    return crossing.underflow | overflow_seen


class _SteadyReader:
    """Read side of the crossing: start after the first word plus SLACK, then keep pace."""

    def __init__(self, m, crossing, domain):
        self.started = Signal()
        waited = Signal(range(SLACK + 1))
        has_data = Signal()         # registered: keeps the start logic off the level's path
        m.d[domain] += has_data.eq(~crossing.r_empty)
        with m.If(~self.started & has_data):
            m.d[domain] += waited.eq(waited + 1)
            with m.If(waited == SLACK):
                m.d[domain] += self.started.eq(1)


class SampleWidener(wiring.Component):
    """``ratio`` narrow words per ``o_domain`` cycle into one wide word; ``valid`` once started.

    The writing side has no reset and no input but the samples: per channel,
    a free-running slot counter gathers ``ratio`` words and writes them to a
    LUT RAM ring at a free-running pointer, from configuration on. Nothing
    fans in from elsewhere, so at a 200 MHz SCLK no net has to cross the
    chip (a shared reset, start or write enable did, and was the longest
    path). The channels' counters start from the same initial values on the
    same clock, so they move in lockstep. The fast domain's reset (held
    until the PHY delivers samples) reaches one register, which tells the
    reader when the words become real. The reading side places itself: once
    it has seen channel 0's pointer (Gray-coded, synchronised) move
    ``START_MOVES`` times since then, it reads ``SLACK`` words behind it, one
    per cycle for good; either side may be reset at any time, and the
    reader places itself again. ``error`` (sticky) reports any
    channel's distance between writer and reader leaving its safe range,
    which clocks at exactly ``ratio`` : 1 never cause.
    """

    def __init__(self, channels, samples_in=4, ratio=2, *, i_domain="sclk", o_domain="sync"):
        _check(self, channels, samples_in, ratio)
        self.channels, self.samples_in, self.ratio = channels, samples_in, ratio
        self._i, self._o = i_domain, o_domain
        super().__init__({
            "narrow": In(data.ArrayLayout(samples_in, channels)),
            "wide": Out(data.ArrayLayout(samples_in * ratio, channels)),
            "valid": Out(1),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        i, o = self._i, self._o
        n, wide_n = self.samples_in, self.samples_in * self.ratio
        ptr_width = (DEPTH - 1).bit_length() + 1       # one bit more than the address: levels

        narrow = self.narrow
        for stage in range(PIPELINE):
            registered = Signal.like(narrow, name=f"narrow_stage{stage}", reset_less=True)
            m.d[i] += registered.eq(narrow)
            narrow = registered

        r_ptr = Signal(ptr_width)
        seen = []                                       # each channel's write pointer, in `o`
        read_data = []
        for c in range(self.channels):
            # writing side: reset-less, free-running
            slot = Signal(range(self.ratio), name=f"slot{c}", reset_less=True)
            w_ptr = Signal(ptr_width, name=f"w_ptr{c}", reset_less=True)
            gathered = Signal(n * (self.ratio - 1), name=f"gathered{c}", reset_less=True)
            # `last` (slot == ratio - 1) is a register, so each LUT RAM's write
            # enable comes straight from a flip-flop
            last = Signal(name=f"last{c}", reset_less=True, init=self.ratio == 1)
            if self.ratio > 1:
                m.d[i] += last.eq(slot == self.ratio - 2)
            for k in range(self.ratio - 1):
                with m.If(slot == k):
                    m.d[i] += gathered[k * n:(k + 1) * n].eq(narrow[c])
            m.d[i] += slot.eq(Mux(last, 0, slot + 1))
            with m.If(last):
                m.d[i] += w_ptr.eq(w_ptr + 1)
            ring = m.submodules[f"ring{c}"] = memory.Memory(shape=wide_n, depth=DEPTH, init=[])
            write = ring.write_port(domain=i)
            read = ring.read_port(domain="comb")
            m.d.comb += [write.addr.eq(w_ptr[:-1]), write.data.eq(Cat(gathered, narrow[c])),
                         write.en.eq(last), read.addr.eq(r_ptr[:-1])]
            read_data.append(read.data)

            # the pointer crosses Gray-coded, registered on both sides
            w_gray = Signal(ptr_width, name=f"w_gray{c}", reset_less=True)
            m.d[i] += w_gray.eq(_gray(w_ptr))
            w_gray_in_o = Signal(ptr_width, name=f"w_gray{c}_in_o")
            m.submodules[f"w_gray{c}_sync"] = FFSynchronizer(w_gray, w_gray_in_o, o_domain=o)
            w_seen = Signal(ptr_width, name=f"w_seen{c}")
            m.d[o] += w_seen.eq(_from_gray(m, w_gray_in_o))
            seen.append(w_seen)

        # The fast side's reset (released once the PHY delivers samples) reaches
        # one register, which tells the reader when the words become real. Two
        # reset-less copies follow it, so that the placer can spread the way
        # from the reset synchroniser (wherever it sits) over three registers.
        released = Signal()
        m.d[i] += released.eq(1)
        running = released
        for stage in range(2):
            copy = Signal(name=f"running_stage{stage}", reset_less=True)
            m.d[i] += copy.eq(running)
            running = copy
        running_in_o = Signal()
        m.submodules.running_sync = FFSynchronizer(running, running_in_o, o_domain=o)

        # reading side: once channel 0's writer has been seen moving START_MOVES
        # times since the fast side runs (so that the SLACK words behind it were
        # written since), read SLACK words behind it, one per cycle for good
        started = Signal()
        previous = Signal(ptr_width)
        moves = Signal(range(START_MOVES + 1))
        m.d[o] += previous.eq(seen[0])
        with m.If(~running_in_o):
            m.d[o] += [moves.eq(0), started.eq(0), self.valid.eq(0)]
        with m.Elif(started):
            m.d[o] += r_ptr.eq(r_ptr + 1)
        with m.Elif(seen[0] != previous):
            m.d[o] += moves.eq(moves + 1)
            with m.If(moves == START_MOVES - 1):
                m.d[o] += [r_ptr.eq(seen[0] - SLACK), started.eq(1)]
        with m.If(started):
            m.d[o] += self.valid.eq(1)
            for c in range(self.channels):
                m.d[o] += self.wide[c].eq(read_data[c])

        # every channel's writer stays between 1 and DEPTH - 2 words ahead of the
        # reader (as seen a few cycles late; with equal rates the distance is constant)
        for c in range(self.channels):
            level = Signal(ptr_width, name=f"level{c}")
            m.d.comb += level.eq(seen[c] - r_ptr)
            with m.If(started & ((level == 0) | (level > DEPTH - 2))):
                m.d[o] += self.error.eq(1)
        return m


class SampleNarrower(wiring.Component):
    """One wide word per ``i_domain`` cycle out as ``ratio`` narrow words, earliest first."""

    def __init__(self, channels, samples_in=4, ratio=2, *, i_domain="sync", o_domain="sclk"):
        _check(self, channels, samples_in, ratio)
        if ratio < 2:           # (its reads are planned a cycle ahead, from the slot before)
            self._MustUse__silence = True
            raise ValueError(f"a narrower hands out at least 2 narrow words per wide one, not {ratio}")
        self.channels, self.samples_in, self.ratio = channels, samples_in, ratio
        self._i, self._o = i_domain, o_domain
        super().__init__({
            "wide": In(data.ArrayLayout(samples_in * ratio, channels)),
            "narrow": Out(data.ArrayLayout(samples_in, channels)),
            "valid": Out(1),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n, wide_n = self.samples_in, self.samples_in * self.ratio
        # a crossing per output lane, written and read in lockstep: each lane's
        # LUT RAM and read pointer can sit by its pin, so no read address has
        # to reach RAM all over the chip at SCLK (4.97 ns of routing did, in
        # an ULX3S build that also holds the sequencer)
        lanes = []
        for c in range(self.channels):
            lanes.append(_Crossing(wide_n, w_domain=self._i, r_domain=self._o))
            m.submodules[f"fifo{c}"] = lanes[c]
        q = lanes[0]                # whose fill level starts the reader

        # input side: every wide word goes in
        push = _writer_may_push(m, self._o, self._i)
        for c, lane in enumerate(lanes):
            m.d.comb += [lane.w_data.eq(self.wide[c]), lane.w_en.eq(push)]

        # output side: once started, pop a word every `ratio` cycles and hand it
        # out a narrow word at a time, earliest first. For a 200 MHz SCLK with
        # outputs spread over the chip, every step is a register: the LUT RAM
        # read is registered beside the RAM (`fetched`), and each output lane
        # keeps its own copies of the slot and the pop (registered, so all
        # lanes move in lockstep) to load its word and pick its narrow word, so
        # no net fans out from one flip-flop to every pin.
        reader = _SteadyReader(m, q, self._o)
        slot = Signal(range(self.ratio))
        with m.If(reader.started):
            m.d[self._o] += slot.eq(Mux(slot == self.ratio - 1, 0, slot + 1))
        # each lane's read enable is its own flip-flop, set a cycle ahead from
        # the slot before the pop (the shared pop, a LUT, reached four lanes'
        # pointers across the chip in 3.7 ns)
        pop_next = reader.started & (slot == self.ratio - 2)
        lane_reads = []
        for c, lane in enumerate(lanes):
            lane_reads.append(Signal(name=f"read{c}", reset_less=True))
            m.d[self._o] += lane_reads[c].eq(pop_next)
            m.d.comb += lane.r_en.eq(lane_reads[c])
        fetched_lanes = []          # the popped words, from the cycle after the pop
        for c, lane in enumerate(lanes):
            fetched_lanes.append(Signal(wide_n, name=f"fetched{c}", reset_less=True))
            m.d[self._o] += fetched_lanes[c].eq(lane.r_data)
        # no reset on the output word (a small reset net in the fast domain):
        # it is all zeros until the first word is out
        narrow = Signal.like(self.narrow, reset_less=True)
        loaded_lanes = []
        for c in range(self.channels):
            lane_slot = Signal(range(self.ratio), name=f"slot{c}", reset_less=True)
            lane_pop = Signal(name=f"pop{c}", reset_less=True)
            word = Signal(wide_n, name=f"word{c}", reset_less=True)
            loaded = Signal(name=f"loaded{c}")      # `word` holds a word from the FIFO
            m.d[self._o] += [lane_slot.eq(slot), lane_pop.eq(lane_reads[c])]
            with m.If(lane_pop):
                m.d[self._o] += [word.eq(fetched_lanes[c]), loaded.eq(1)]
            m.d[self._o] += narrow[c].eq(Mux(loaded, word.word_select(lane_slot, n), 0))
            loaded_lanes.append(loaded)
        valid = Signal()            # `narrow` holds a word from the FIFO
        m.d[self._o] += valid.eq(loaded_lanes[0])
        for stage in range(PIPELINE - 1):      # the output word is the first stage
            registered = Signal.like(narrow, name=f"narrow_stage{stage}", reset_less=True)
            valid_registered = Signal(name=f"valid_stage{stage}")
            m.d[self._o] += [registered.eq(narrow), valid_registered.eq(valid)]
            narrow, valid = registered, valid_registered
        m.d.comb += [self.narrow.eq(narrow), self.valid.eq(valid)]
        m.d.comb += self.error.eq(Cat(_errors(m, lane, self._o, f"overflow_sync{c}")
                                      for c, lane in enumerate(lanes)).any())
        return m
