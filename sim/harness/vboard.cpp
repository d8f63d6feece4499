// vboard: the virtual board's harness around the Verilator model of the Node.
//
// It clocks the model as fast as it can, drives `samples` from a stimulus
// stream and bridges the gateware UART to a pseudo-terminal, bit by bit, so
// every byte goes through the real gateware UART and protocol engine.
//
//   vboard --pty-fd FD --divisor D [--reset-cycles R] [--max-cycles N]
//          [--max-seconds S] [--poll-cycles P] [--loopback OUT:IN:TICKS ...]
//
// Stimulus (stdin), all little-endian (written by qnu.sim.stream):
//   header  : "QNUSTIM1", u32 word_bytes, u32 0
//   records : u64 cycle, word_bytes bytes of word; cycles increasing. A record
//             for the cycle the harness waits at replaces the word before that
//             cycle runs (a co-simulation sends a cycle's word again when an
//             edge from another board lands in it).
//   A record means "from this cycle on, `samples` is this word". Cycle 0 is
//   the first cycle after reset is released. A record may repeat the held
//   word (it only says the stream is final up to there). At end of file the
//   last word holds forever. The harness blocks on stdin only when the clock
//   reaches the cycle of the next record it has not read yet.
//
// UART: 8N1, LSB first, `divisor` clock cycles per bit. Bytes read from the
// pty master are sent on `uart_rx`; `uart_tx` is sampled mid-bit and every
// byte with a good stop bit is written to the pty master. The pty is served
// every `poll-cycles` cycles (default 256), never blocking.
//
// Loopback (a cable): trigger output OUT drives tagger input IN, TICKS fine
// ticks later, ORed with IN's stimulus. The output word on the `triggers`
// port during cycle c holds ticks c*N .. c*N+N-1 (bit 0 first); the input
// word captured at the end of cycle c holds the same ticks, so a cable of 0
// ticks shows tick t of the output in tick t of the input.
//
// Outputs (--outputs-fd FD), for a co-simulation that exchanges signals
// between boards: records of two little-endian u64, (cycle, word) each time
// the `triggers` word changes (the word during that cycle, bit k*N+i =
// output k, tick i), and (cycle | 1 << 63, 0) whenever the harness is about
// to wait for stimulus: every word before that cycle has been reported.
//
// Probe (--probe-file PATH, a model compiled with -DPROBE: a co-simulation's
// view of each board's time): per cycle from cycle 0, two little-endian u64,
// the timebase's time during that cycle (`probe_now`) and the sync servo's
// fraction of a tick below it (`probe_fraction`, 2**-32 ticks) with the
// servo's state (`probe_state`) in bits 32 and 33.
//
// Status (stdout), one line, on SIGUSR1 ("status ...") and at exit ("final ..."):
//   cycles=N seconds=S cycles_per_second=R bytes_in=N bytes_out=N pulses=N
//   framing_errors=N dropped_out=N records=N
// SIGTERM, SIGINT and SIGHUP stop it cleanly; so does its parent's death.

#include "Vtop.h"
#include "verilated.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fcntl.h>
#include <string>
#include <sys/prctl.h>
#include <type_traits>
#include <unistd.h>
#include <vector>

#ifndef SAMPLE_BITS
#error "compile with -DSAMPLE_BITS=<channels * samples per cycle>"
#endif
#ifndef SAMPLES_PER_CYCLE
#error "compile with -DSAMPLES_PER_CYCLE=<N>"
#endif
static const int WORD_BYTES = (SAMPLE_BITS + 7) / 8;
static const size_t OUT_LIMIT = 1 << 20;    // bytes held for a pty nobody reads

static volatile sig_atomic_t stop_flag = 0, report_flag = 0;
static void on_stop(int) { stop_flag = 1; }
static void on_report(int) { report_flag = 1; }

static void die(const char* msg) {
    fprintf(stderr, "vboard: %s\n", msg);
    exit(2);
}

static double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The trigger words reported on --outputs-fd.
struct OutputLog {
    int fd = -1;
    std::vector<uint64_t> buf;
    uint64_t last = 0;
    bool any = false;
    void add(uint64_t cycle, uint64_t word) {
        if (any && word == last) return;
        buf.push_back(cycle);
        buf.push_back(word);
        last = word;
        any = true;
    }
    void flush(uint64_t done_before) {
        if (fd < 0) return;
        buf.push_back(done_before | (1ull << 63));
        buf.push_back(0);
        const char* p = (const char*)buf.data();
        size_t left = buf.size() * 8;
        while (left) {
            ssize_t put = write(fd, p, left);
            if (put < 0) { if (errno == EINTR && !stop_flag) continue; die("writing the outputs failed"); }
            p += put;
            left -= put;
        }
        buf.clear();
    }
};
static OutputLog outlog;
static uint64_t g_cycle = 0;

// Buffered reader of the stimulus records on stdin.
struct Stimulus {
    uint8_t buf[1 << 16];
    size_t head = 0, tail = 0;
    bool eof = false;
    uint64_t records = 0;

    // Ensure `n` bytes are buffered; false at end of file (or on stop).
    bool need(size_t n) {
        while (tail - head < n) {
            if (eof) return false;
            if (head > 0) { memmove(buf, buf + head, tail - head); tail -= head; head = 0; }
            outlog.flush(g_cycle);          // (a co-simulation's partners may be waiting for these)
            ssize_t got = read(0, buf + tail, sizeof buf - tail);
            if (got > 0) tail += got;
            else if (got == 0) eof = true;
            else if (errno == EINTR) { if (stop_flag) return false; }
            else die("reading the stimulus failed");
        }
        return true;
    }
    void header() {
        if (!need(16)) die("the stimulus stream has no header");
        if (memcmp(buf + head, "QNUSTIM1", 8) != 0) die("the stimulus stream does not start with QNUSTIM1");
        uint32_t wb;
        memcpy(&wb, buf + head + 8, 4);
        if (wb != (uint32_t)WORD_BYTES) {
            fprintf(stderr, "vboard: stimulus words are %u bytes, the model's samples need %d\n", wb, WORD_BYTES);
            exit(2);
        }
        head += 16;
    }
    // Next record into (cycle, word); false at end of file.
    bool next(uint64_t& cycle, uint8_t* word) {
        if (!need(8 + WORD_BYTES)) return false;
        memcpy(&cycle, buf + head, 8);
        memcpy(word, buf + head + 8, WORD_BYTES);
        head += 8 + WORD_BYTES;
        records++;
        return true;
    }
};

// Put a little-endian word on the samples port, whatever C type Verilator chose for it.
template <typename T>
static void set_word(T& port, const uint8_t* w) {
    if constexpr (std::is_integral_v<T>) {
        uint64_t v = 0;
        memcpy(&v, w, WORD_BYTES);
        port = (T)v;
    } else {  // VlWide: 32-bit words, least significant first
        uint8_t padded[sizeof(port)] = {};
        memcpy(padded, w, WORD_BYTES);
        for (size_t i = 0; i < sizeof(port) / 4; i++) {
            uint32_t x;
            memcpy(&x, padded + 4 * i, 4);
            port[i] = x;
        }
    }
}

// Bit `i` of a port, whatever C type Verilator chose for it.
template <typename T>
static unsigned get_bit(const T& port, int i) {
    if constexpr (std::is_integral_v<T>) return (unsigned)((uint64_t)port >> i) & 1;
    else return (port[i / 32] >> (i % 32)) & 1;
}

// The low 64 bits of a port, whatever C type Verilator chose for it.
template <typename T>
static uint64_t get_u64(const T& port) {
    if constexpr (std::is_integral_v<T>) return (uint64_t)port;
    else return (uint64_t)port[0] | (uint64_t)port[1] << 32;
}

// A cable from a trigger output to a tagger input, delayed by whole ticks.
struct Loop {
    int out = 0, in = 0;
    uint64_t delay = 0;
    std::vector<uint8_t> ring;      // output bit of tick t at ring[t % size]
};

struct Args {
    int pty_fd = -1, divisor = 0, reset_cycles = 4, poll_cycles = 256, outputs_fd = -1;
    const char* probe_file = nullptr;
    uint64_t max_cycles = UINT64_MAX;
    double max_seconds = 0;
    std::vector<Loop> loops;
};

static Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; i++) {
        std::string k = argv[i];
        if (i + 1 >= argc) die(("missing value after " + k).c_str());
        const char* v = argv[++i];
        if (k == "--pty-fd") a.pty_fd = atoi(v);
        else if (k == "--divisor") a.divisor = atoi(v);
        else if (k == "--reset-cycles") a.reset_cycles = atoi(v);
        else if (k == "--poll-cycles") a.poll_cycles = atoi(v);
        else if (k == "--max-cycles") a.max_cycles = strtoull(v, nullptr, 10);
        else if (k == "--max-seconds") a.max_seconds = atof(v);
        else if (k == "--outputs-fd") a.outputs_fd = atoi(v);
        else if (k == "--probe-file") a.probe_file = v;
        else if (k == "--loopback") {
            Loop l;
            unsigned long long d = 0;
            if (sscanf(v, "%d:%d:%llu", &l.out, &l.in, &d) != 3 || l.out < 0 || l.in < 0 ||
                (l.in + 1) * SAMPLES_PER_CYCLE > SAMPLE_BITS)
                die(("bad --loopback " + std::string(v) + " (OUT:IN:TICKS)").c_str());
            l.delay = d;
            l.ring.assign(d + 2 * SAMPLES_PER_CYCLE, 0);
            a.loops.push_back(l);
        }
        else die(("unknown option " + k).c_str());
    }
    if (a.pty_fd < 0 || a.divisor < 2 || a.poll_cycles < 1) die("need --pty-fd and --divisor >= 2");
    return a;
}

int main(int argc, char** argv) {
    Args args = parse(argc, argv);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    struct sigaction sa = {};
    sa.sa_handler = on_stop;            // no SA_RESTART: a blocked read returns to check the flag
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    sa.sa_handler = on_report;
    sigaction(SIGUSR1, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    fcntl(args.pty_fd, F_SETFL, fcntl(args.pty_fd, F_GETFL) | O_NONBLOCK);

    Verilated::commandArgs(1, argv);
    outlog.fd = args.outputs_fd;
    Vtop* top = new Vtop;
    FILE* probe = nullptr;
    if (args.probe_file) {
#ifndef PROBE
        die("--probe-file needs a model with probe ports (compiled with -DPROBE)");
#endif
        probe = fopen(args.probe_file, "wb");
        if (!probe) die("cannot open the probe file");
        setvbuf(probe, nullptr, _IOFBF, 1 << 20);
    }
    Stimulus stim;
    stim.header();

    // reset, inputs idle; no gearbox: the front end runs, without errors
    // (phy_status: inputs_running, outputs_running)
    top->phy_status = 0b0011;
    top->uart_rx = 1;
    top->rst = 1;
    for (int i = 0; i < args.reset_cycles; i++) {
        top->clk = 0; top->eval();
        top->clk = 1; top->eval();
    }
    top->rst = 0;

    const int D = args.divisor;
    uint64_t cycle = 0, next_cycle = UINT64_MAX;
    uint8_t next_word[WORD_BYTES + 8];
    bool have_next = stim.next(next_cycle, next_word);
    if (!have_next) next_cycle = UINT64_MAX;

    std::deque<uint8_t> to_node, to_host;
    uint64_t bytes_in = 0, bytes_out = 0, pulses = 0, framing_errors = 0, dropped_out = 0;
    // host -> node: a 10-bit frame shifted out LSB first
    unsigned rx_shift = 0, rx_bits = 0, rx_timer = 0;
    // node -> host: 0 idle, 1 start bit, 2..9 data bits, 10 stop bit
    unsigned tx_state = 0, tx_timer = 0, tx_byte = 0;
    int poll = args.poll_cycles;
    double t0 = now_s();

    auto report = [&](const char* what) {
        double dt = now_s() - t0;
        printf("%s cycles=%llu seconds=%.3f cycles_per_second=%.0f bytes_in=%llu bytes_out=%llu pulses=%llu "
               "framing_errors=%llu dropped_out=%llu records=%llu\n", what, (unsigned long long)cycle, dt,
               dt > 0 ? cycle / dt : 0.0, (unsigned long long)bytes_in, (unsigned long long)bytes_out,
               (unsigned long long)pulses, (unsigned long long)framing_errors,
               (unsigned long long)dropped_out, (unsigned long long)stim.records);
        fflush(stdout);
    };

    const int N = SAMPLES_PER_CYCLE;
    uint8_t held_word[WORD_BYTES + 8] = {};     // the stimulus word in force
    while (!stop_flag) {
        bool changed = false;
        g_cycle = cycle;
        while (cycle == next_cycle) {
            memcpy(held_word, next_word, WORD_BYTES);
            changed = true;
            if (!stim.next(next_cycle, next_word)) {
                if (stop_flag) break;
                next_cycle = UINT64_MAX;
            } else if (next_cycle < cycle) {
                die("stimulus cycles must not go back");
            }
        }
        if (stop_flag) break;
        if (args.loops.empty()) {
            if (changed) set_word(top->samples, held_word);
        } else {
            // the cables: this cycle's output ticks in, the delayed ticks ORed onto the inputs
            uint8_t word[WORD_BYTES + 8];
            memcpy(word, held_word, WORD_BYTES);
            for (Loop& l : args.loops) {
                size_t size = l.ring.size();
                for (int i = 0; i < N; i++) {
                    uint64_t t = cycle * N + i;
                    l.ring[t % size] = get_bit(top->triggers, l.out * N + i);
                    if (t >= l.delay && l.ring[(t - l.delay) % size]) {
                        int bit = l.in * N + i;
                        word[bit / 8] |= 1u << (bit % 8);
                    }
                }
            }
            set_word(top->samples, word);
        }

        // host -> node, one bit time after another
        if (rx_bits) {
            if (--rx_timer == 0) {
                rx_shift >>= 1;
                rx_timer = D;
                if (--rx_bits == 0) rx_shift = 1;
                top->uart_rx = rx_shift & 1;
            }
        } else if (!to_node.empty()) {
            rx_shift = (1u << 9) | ((unsigned)to_node.front() << 1);
            to_node.pop_front();
            rx_bits = 10;
            rx_timer = D;
            top->uart_rx = 0;
        }

        if (outlog.fd >= 0) outlog.add(cycle, get_u64(top->triggers));
#ifdef PROBE
        if (probe) {
            uint64_t rec[2] = {get_u64(top->probe_now), (uint64_t)top->probe_fraction | (uint64_t)top->probe_state << 32};
            fwrite(rec, sizeof rec, 1, probe);
        }
#endif
        top->clk = 0; top->eval();
        top->clk = 1; top->eval();
        cycle++;
        pulses += top->pulse;

        // node -> host: find the start bit, then sample each bit in its middle
        unsigned tx = top->uart_tx;
        if (tx_state == 0) {
            if (!tx) { tx_state = 1; tx_timer = D / 2; }
        } else if (--tx_timer == 0) {
            tx_timer = D;
            if (tx_state == 1) {
                tx_state = tx ? 0 : 2;                              // a glitch is no start bit
            } else if (tx_state < 10) {
                tx_byte = (tx_byte >> 1) | (tx << 7);
                tx_state++;
            } else {
                if (tx) { to_host.push_back(tx_byte); bytes_out++; }
                else framing_errors++;
                tx_state = 0;
            }
        }

        if (--poll == 0) {
            poll = args.poll_cycles;
            if (to_node.size() < 4096) {
                uint8_t buf[4096];
                ssize_t got = read(args.pty_fd, buf, sizeof buf);
                for (ssize_t i = 0; i < got; i++) to_node.push_back(buf[i]);
                if (got > 0) bytes_in += got;
            }
            while (!to_host.empty()) {
                uint8_t buf[4096];
                size_t n = 0;
                for (auto it = to_host.begin(); it != to_host.end() && n < sizeof buf; ++it) buf[n++] = *it;
                ssize_t put = write(args.pty_fd, buf, n);
                if (put <= 0) break;
                to_host.erase(to_host.begin(), to_host.begin() + put);
            }
            while (to_host.size() > OUT_LIMIT) { to_host.pop_front(); dropped_out++; }
            if (report_flag) { report_flag = 0; report("status"); }
            if (cycle >= args.max_cycles) break;
            if (args.max_seconds > 0 && now_s() - t0 >= args.max_seconds) break;
        }
    }
    report("final");
    if (probe) fclose(probe);
    top->final();
    delete top;
    return 0;
}
