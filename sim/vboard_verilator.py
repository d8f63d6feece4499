"""The virtual board's fast backend: the compiled harness (harness/vboard.cpp) around
a Verilator model of the Node, fed the stimulus stream through a pipe by a thread."""

import fcntl
import signal
import subprocess
import threading

from .harness_build import build_harness
from .stream import header

__all__ = ["VerilatorBackend", "parse_status"]

F_SETPIPE_SZ = 1031     # Linux: a larger pipe lets the feeder run further ahead


def parse_status(line):
    """{'cycles': ..., 'cycles_per_second': ...} of a harness status line."""
    fields = dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
    return {k: float(v) if "." in v else int(v) for k, v in fields.items()}


class VerilatorBackend:
    name = "verilator"

    def __init__(self, node, feed, master_fd, *, divisor, log=None, loopbacks=(), outputs_fd=None, probe_file=None):
        self.exe = build_harness(node, log=log)
        self.outputs_fd = outputs_fd            # the harness reports its trigger words there (co-simulation)
        self.probe_file = probe_file            # and each cycle's time there (a node built with probe=True)
        self.loopbacks = list(loopbacks)       # (output, input, delay in ticks): cables
        self.feed, self.fd, self.divisor = feed, master_fd, divisor
        self.proc = None
        self.feed_error = None
        self._lines = []
        self._cond = threading.Condition()
        self._stopping = False
        self._stderr = b""

    def start(self):
        cmd = [str(self.exe), "--pty-fd", str(self.fd), "--divisor", str(self.divisor)]
        for output, channel, delay in self.loopbacks:
            cmd += ["--loopback", f"{output}:{channel}:{delay}"]
        if self.probe_file is not None:
            cmd += ["--probe-file", str(self.probe_file)]
        fds = [self.fd]
        if self.outputs_fd is not None:
            cmd += ["--outputs-fd", str(self.outputs_fd)]
            fds.append(self.outputs_fd)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     pass_fds=fds, bufsize=0,
                                     start_new_session=True)    # Ctrl-C reaches us; we stop it in order
        try:
            fcntl.fcntl(self.proc.stdin.fileno(), F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass
        self._threads = [threading.Thread(target=t, name=f"vboard{t.__name__}", daemon=True)
                         for t in (self._feed, self._read_stdout, self._read_stderr)]
        for thread in self._threads:
            thread.start()

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _feed(self):
        try:
            self.proc.stdin.write(header(self.feed.word_bytes))
            if not self.feed.idle:          # without sources the inputs stay low: end of file says so
                while not self._stopping:
                    self.proc.stdin.write(self.feed.to_bytes(self.feed.next_chunk()))
        except (BrokenPipeError, ValueError, OSError):
            pass                            # the harness stopped; died() says why
        except Exception as e:
            self.feed_error = e
            self.proc.terminate()
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def _read_stdout(self):
        for line in self.proc.stdout:
            with self._cond:
                self._lines.append(line.decode().strip())
                self._cond.notify_all()

    def _read_stderr(self):
        self._stderr = self.proc.stderr.read()

    def _next_line(self, count, timeout):
        with self._cond:
            self._cond.wait_for(lambda: len(self._lines) > count or not self.alive, timeout)
            return self._lines[count] if len(self._lines) > count else None

    def status(self):
        """The harness's counters now (asks it with SIGUSR1)."""
        count = len(self._lines)
        if self.alive:
            self.proc.send_signal(signal.SIGUSR1)
        line = self._next_line(count, 5)
        return parse_status(line or (self._lines[-1] if self._lines else ""))

    def stop(self):
        """Stop the harness; its final counters."""
        self._stopping = True
        if self.alive:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._threads[1].join(timeout=5)    # the final line is read
        final = [line for line in self._lines if line.startswith("final")]
        return parse_status(final[-1]) if final else {}

    def died(self):
        """Why the harness stopped on its own, or None while it runs (or was stopped)."""
        if self.feed_error is not None:
            return f"the stimulus feeder failed: {self.feed_error!r}"
        if self.proc is None or self.alive or self._stopping:
            return None
        self._threads[2].join(timeout=2)    # all of stderr is read
        err = self._stderr.decode(errors="replace").strip()
        how = (f"was killed by signal {-self.proc.returncode}" if self.proc.returncode < 0
               else f"exited with code {self.proc.returncode}")
        return f"the Verilator harness {how}" + (f": {err}" if err else "")
