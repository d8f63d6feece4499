"""A simulated instrument on a local TCP socket, for pyvisa-py's ``TCPIP0::HOST::PORT::SOCKET``.

Messages are lines (``\\n``, a ``\\r`` before it ignored); one line may hold
several commands separated by ``;``, as SCPI and the DG645 allow. Each
command goes to the model's ``handle(command)``, which returns the answer
of a query (a string) or None. Each client gets its own thread.

For tests of what goes wrong: :meth:`InstrumentServer.hang` stops answering
(a driver times out), :meth:`InstrumentServer.drop_clients` closes every
connection (a pulled cable).
"""

import logging
import socket
import threading

__all__ = ["InstrumentServer"]

log = logging.getLogger(__name__)


class InstrumentServer:
    def __init__(self, model, *, host="127.0.0.1", port=0):
        self.model = model
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._clients = set()
        self._lock = threading.Lock()
        self._hung = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name=f"{type(model).__name__} server", daemon=True)

    @property
    def resource(self):
        """The VISA resource string of this instrument."""
        return f"TCPIP0::{self.host}::{self.port}::SOCKET"

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self._closed = True
        try:
            self._listener.close()
        finally:
            self.drop_clients()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def hang(self, hung=True):
        """Stop answering (queries are read and dropped) until ``hang(False)``."""
        (self._hung.set if hung else self._hung.clear)()

    def drop_clients(self):
        with self._lock:
            clients, self._clients = list(self._clients), set()
        for conn in clients:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._clients.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _handle(self, command):
        try:
            return self.model.handle(command)
        except Exception:               # a model's bug: logged, and the connection goes on
            log.exception("%s: %r", type(self.model).__name__, command)
            return None

    def _serve(self, conn):
        buffer = b""
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    answers = [self._handle(cmd.strip()) for cmd in
                               line.decode("ascii", "replace").rstrip("\r").split(";") if cmd.strip()]
                    answers = [a for a in answers if a is not None]
                    if answers and not self._hung.is_set():
                        conn.sendall((";".join(answers) + "\n").encode("ascii"))
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.discard(conn)
            conn.close()
