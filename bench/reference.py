"""A fixed pure-Python workload, timed, printed beside benchmark results.

This machine is shared: its speed varies by half from one hour to the next. Printing how long the
same small loop took during a run lets two runs' figures be compared fairly.
"""

from __future__ import annotations

import time


def reference_seconds() -> float:
    """Seconds for 10^7 squared integers summed in a generator (about 0.7 s on a quiet 2-core run here)."""
    started = time.perf_counter()
    sum(i * i for i in range(10**7))
    return time.perf_counter() - started
