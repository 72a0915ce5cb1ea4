"""``python -m workers.healthcheck``: exit 0 when an RQ worker on this host is registered in Redis."""

from __future__ import annotations

import socket
import sys

from core.monitoring.queues import connect, workers


def main() -> int:
    """A container healthcheck for ``rq worker``: is a worker of this hostname alive?"""
    host = socket.gethostname()
    alive = [w for w in workers(connection=connect()) if w.hostname == host]
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
