"""A TCP proxy that makes a loopback server look like one across a network: each direction's bytes arrive
half a round trip after they were sent, at no more than the given bandwidth. Used by bench/replies.py to
read a Dovecot mailbox as a hosted mailbox is read (``--link 30,100``: 30 ms round trip, 100 Mbit/s).
It runs in a process of its own (``shaped_link``), so its threads never wait on the measured process's GIL.

    python bench/link.py TARGET_PORT RTT_MS MBIT   # prints the port it listens on, then serves
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class ShapedLink:
    """``with ShapedLink(port, rtt_ms=30, mbit=100) as link:`` then connect to ``link.port``."""

    def __init__(self, target_port: int, *, rtt_ms: float, mbit: float) -> None:
        self.target_port = target_port
        self.delay = rtt_ms / 2000  # one way, in seconds
        self.bytes_per_second = mbit * 1_000_000 / 8
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = threading.Event()

    def __enter__(self) -> ShapedLink:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, server), (server, client)):
                self._pipe(source, sink)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        """Bytes read from ``source`` are written to ``sink`` once they have crossed the link."""
        queue: deque[tuple[float, bytes]] = deque()
        ready = threading.Condition()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                with ready:
                    queue.append((time.monotonic(), data))
                    ready.notify()
                if not data:
                    return

        def write() -> None:
            wire_free = 0.0  # when the link has carried everything before
            while True:
                with ready:
                    while not queue:
                        ready.wait()
                    sent_at, data = queue.popleft()
                wire_free = max(wire_free, sent_at) + len(data) / self.bytes_per_second
                pause = wire_free + self.delay - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    if not data:
                        sink.shutdown(socket.SHUT_WR)
                        return
                    sink.sendall(data)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()


@contextmanager
def shaped_link(target_port: int, *, rtt_ms: float, mbit: float) -> Iterator[int]:
    """A ``ShapedLink`` in its own process; yields the port to connect to."""
    process = subprocess.Popen(
        [sys.executable, __file__, str(target_port), str(rtt_ms), str(mbit)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target_port", type=int, help="the loopback port to forward to")
    parser.add_argument("rtt_ms", type=float, help="the round trip, in milliseconds")
    parser.add_argument("mbit", type=float, help="the bandwidth, in Mbit/s each way")
    args = parser.parse_args()
    with ShapedLink(args.target_port, rtt_ms=args.rtt_ms, mbit=args.mbit) as served:
        print(served.port, flush=True)
        served.closed.wait()
