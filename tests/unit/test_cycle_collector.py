"""The cycle collector is paused for bulk work only in worker and command-line processes, never in the UI's."""

from __future__ import annotations

import subprocess
import sys

from core.config import PROJECT_ROOT

PROBE = """
import gc
{setup}
from core.leads.bulk import cycle_collector_paused
with cycle_collector_paused():
    inside = gc.isenabled()
print(inside, gc.isenabled())
"""


def collector_states(setup: str) -> str:
    code = PROBE.format(setup=setup)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_process_that_did_not_allow_it_keeps_collecting_during_bulk_work():
    assert collector_states("") == "True True"


def test_a_worker_process_pauses_it_for_the_bulk_work_and_resumes_after():
    assert collector_states("import workers.tasks") == "False True"


def test_allowing_it_by_hand_pauses_it_too():
    setup = "from core.leads.bulk import allow_cycle_collector_pauses; allow_cycle_collector_pauses()"
    assert collector_states(setup) == "False True"


FREEZE_PROBE = """
import gc
{setup}
from core.extract.fingerprints import fingerprints
fingerprints()
print(gc.get_freeze_count() > 0)
"""


def frozen_after_compiling(setup: str) -> str:
    code = FREEZE_PROBE.format(setup=setup)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_ui_process_does_not_freeze_what_extraction_loads():
    assert frozen_after_compiling("") == "False"


def test_a_worker_process_freezes_the_long_lived_objects_once_the_fingerprints_are_compiled():
    assert frozen_after_compiling("import workers.tasks") == "True"
