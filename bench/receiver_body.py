"""Peak memory of the receiver (uvicorn workers.receiver:app) under oversized webhook bodies.

Starts the real receiver as its own process on a fresh SQLite database, then sends, one after the
other: a 100 MB body with its Content-Length to /hooks/sendgrid, a 100 MB chunked body (no
Content-Length) to /hooks/mailgun, and five 100 MB bodies in parallel. After each step it prints
the receiver's peak resident memory (VmHWM from /proc) beside its resident memory after start-up,
and the status codes it answered. No credentials are sent: anyone could do this.

    PYTHONPATH=. .venv/bin/python bench/receiver_body.py [--megabytes 100] [--parallel 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PIECE = b"[" * (1024 * 1024)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int, field: str) -> float:
    """VmRSS or VmHWM of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


def pieces(megabytes: int) -> Iterator[bytes]:
    for _ in range(megabytes):
        yield PIECE


def post(url: str, megabytes: int, *, declared: bool) -> str:
    """POST a body of ``megabytes`` MB; the status, or what stopped the upload."""
    headers = {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": "x",
        "X-Twilio-Email-Event-Webhook-Timestamp": str(int(time.time())),
    }
    if declared:
        headers["Content-Length"] = str(megabytes * len(PIECE))
    try:
        return str(httpx.post(url, content=pieces(megabytes), headers=headers, timeout=300).status_code)
    except httpx.HTTPError as error:  # the server answered and closed while we were still sending
        return type(error).__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="leadscout-bench-receiver-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "DATA_DIR": str(tmp / "data"),
        "SENDGRID_WEBHOOK_PUBLIC_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + "A" * 88,
        "MAILGUN_WEBHOOK_SIGNING_KEY": "bench-key",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "-m", "core", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "workers.receiver:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        idle = memory_mb(proc.pid, "VmRSS")
        print(f"receiver after start-up: {idle:.0f} MB resident")
        print(f"limit: MAX_REQUEST_BODY_BYTES={os.environ.get('MAX_REQUEST_BODY_BYTES', 'default')}")
        status = post(f"{base}/hooks/sendgrid", args.megabytes, declared=True)
        print(f"{args.megabytes} MB with Content-Length -> {status}; peak {memory_mb(proc.pid, 'VmHWM'):.0f} MB")
        status = post(f"{base}/hooks/mailgun", args.megabytes, declared=False)
        print(f"{args.megabytes} MB chunked -> {status}; peak {memory_mb(proc.pid, 'VmHWM'):.0f} MB")
        with ThreadPoolExecutor(args.parallel) as pool:
            statuses = list(
                pool.map(
                    lambda i: post(f"{base}/hooks/sendgrid", args.megabytes, declared=i % 2 == 0), range(args.parallel)
                )
            )
        print(
            f"{args.parallel} x {args.megabytes} MB in parallel -> {', '.join(statuses)}; "
            f"peak {memory_mb(proc.pid, 'VmHWM'):.0f} MB"
        )
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
