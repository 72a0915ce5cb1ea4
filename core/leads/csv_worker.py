"""Worker processes that validate chunks of a big CSV import in parallel.

Each worker is ``python -m core.leads.csv_worker``: it reads pickled chunks from its stdin and writes
the checked rows to its stdout, one chunk at a time. They are started as plain subprocesses, not
through ``multiprocessing``, so nothing depends on how the parent process was started (Streamlit,
an RQ work horse, the CLI, a script without a ``__main__`` guard) and nothing is forked from a
process that runs threads.
"""

from __future__ import annotations

import gc
import logging
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from core.leads.csv_rows import ValidRow, check_chunk

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
Chunk = tuple[Any, ...]


def _start() -> subprocess.Popen[bytes]:
    # ``-m`` from the project folder puts it first on sys.path, whatever the parent's working directory
    return subprocess.Popen(
        [sys.executable, "-m", "core.leads.csv_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
    )


def _send(worker: subprocess.Popen[bytes], chunk: Chunk) -> None:
    assert worker.stdin is not None
    pickle.dump(chunk, worker.stdin, protocol=pickle.HIGHEST_PROTOCOL)
    worker.stdin.flush()


# Checked rows cross the pipe as plain tuples: unpickling a NamedTuple runs a constructor call per row
# (about four times the cost of the rest of the load), while tuple.__new__ rebuilds one at C speed.
_as_row = tuple.__new__


def _plain(checked: list[tuple[int, ValidRow | str]]) -> list[tuple[int, tuple[Any, ...] | str]]:
    return [(n, outcome if isinstance(outcome, str) else tuple(outcome)) for n, outcome in checked]


def _rows(plain: list[tuple[int, tuple[Any, ...] | str]]) -> list[tuple[int, ValidRow | str]]:
    return [(n, outcome if isinstance(outcome, str) else _as_row(ValidRow, outcome)) for n, outcome in plain]


def _receive(worker: subprocess.Popen[bytes]) -> list[tuple[int, ValidRow | str]]:
    assert worker.stdout is not None
    try:
        return _rows(pickle.load(worker.stdout))  # noqa: S301 - our own child process, over its own pipe
    except EOFError as exc:
        raise RuntimeError(f"a CSV check worker stopped (exit code {worker.wait()})") from exc


class Checkers:
    """Check worker processes, started ahead of their work: a worker takes about a quarter of a second to
    import what checking needs, and the importing process spends that time parsing the file.

    ``check`` runs the chunks through them; ``close`` (or leaving the ``with`` block) stops them.
    """

    def __init__(self, processes: int) -> None:
        self._workers: list[subprocess.Popen[bytes]] = []
        try:
            for _ in range(processes):
                self._workers.append(_start())
        except OSError as exc:
            log.warning("CSV check workers could not start (%s); checking in this process", exc)

    def __enter__(self) -> Checkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self, chunks: list[Chunk]) -> Iterator[list[tuple[int, ValidRow | str]]]:
        """Each chunk's checked rows, in order; chunk i goes to worker i % (the number of workers).

        If there are no workers or one dies, the remaining chunks are checked in this process (the
        import still finishes, only slower). Closing the iterator early stops the workers.
        """
        workers = self._workers[: len(chunks)]
        done = 0
        try:
            try:
                for worker, chunk in zip(workers, chunks, strict=False):
                    _send(worker, chunk)
                while workers and done < len(chunks):
                    worker = workers[done % len(workers)]
                    checked = _receive(worker)
                    if done + len(workers) < len(chunks):
                        _send(worker, chunks[done + len(workers)])
                    done += 1
                    yield checked
            except (OSError, RuntimeError, pickle.UnpicklingError) as exc:
                log.warning("CSV check workers failed (%s); checking the remaining rows in this process", exc)
            for chunk in chunks[done:]:
                done += 1
                yield check_chunk(*chunk)
        finally:
            self.close()

    def close(self) -> None:
        for worker in self._workers:
            for pipe in (worker.stdin, worker.stdout):
                with suppress(OSError):  # a dead worker's stdin cannot take the rest of its buffer
                    if pipe is not None:
                        pipe.close()
            if worker.poll() is None:
                worker.kill()
            worker.wait()
        self._workers = []


def _serve(source: IO[bytes], sink: IO[bytes]) -> None:
    while True:
        try:
            chunk = pickle.load(source)  # noqa: S301 - sent by the importing process that started us
        except EOFError:
            return
        pickle.dump(_plain(check_chunk(*chunk)), sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()


if __name__ == "__main__":
    gc.disable()  # checked rows form no cycles; reference counting frees each chunk, full collections only cost
    results = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed by accident can corrupt the results stream
    _serve(sys.stdin.buffer, results)
