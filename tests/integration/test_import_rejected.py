"""Issue 18 item 15: an import's counts agree everywhere, and a background import's rejected rows are a file."""

from __future__ import annotations

import csv
import io

import pytest

from core import background
from core.auth import service as auth
from core.auth import team
from core.config import get_settings
from core.errors import InvalidInput, NotFound
from core.leads import csv_import
from tests.conftest import make_owner, unique
from tests.integration.test_jobs import wait_for

MAPPING = {"company": "company", "website": "website", "email": "email"}


@pytest.fixture
def embedded():
    runner = background.EmbeddedRunner(get_settings().model_copy(update={"job_retries": 0}))
    yield runner
    runner.shutdown()


def a_file(good: int, bad: int) -> bytes:
    tag = unique("imp")
    rows = [f"Good {i},https://good-{i}-{tag}.com/,info@good-{i}-{tag}.com" for i in range(good)]
    rows += [f"Bad {i},,not an email {i}" for i in range(bad)]  # no website, no valid email: rejected
    return ("company,website,email\n" + "\n".join(rows) + "\n").encode()


def test_a_background_import_counts_every_rejected_row_and_keeps_them_all_in_its_file(owner, embedded):
    job_id = csv_import.submit_import(actor=owner, data=a_file(good=20, bad=640), mapping=MAPPING, runner=embedded)
    view = wait_for(owner, job_id, ("succeeded", "failed"), timeout=120)
    assert view.status == "succeeded", view.error

    counts = view.result
    assert (counts["rows_read"], counts["imported"], counts["rejected"]) == (660, 20, 640)
    assert len(counts["rejected_rows"]) == csv_import.REJECTED_LISTED < counts["rejected"]  # listed: the first ones
    data = csv_import.rejected_file_of_job(actor=owner, job_id=job_id)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == counts["rejected"] == 640  # the file has every one, the same number as the summary
    assert [int(r["row"]) for r in rows] == list(range(21, 661))
    assert {r["company"] for r in rows} == {f"Bad {i}" for i in range(640)} and all(r["error"] for r in rows)

    member_id = team.add_member(actor=owner, email=f"{unique('m')}@example.test", role="member")
    member = auth.actor_for(user_id=member_id, workspace_id=owner.workspace_id)
    assert csv_import.rejected_file_of_job(actor=member, job_id=job_id) == data  # importing is everyone's
    with pytest.raises(NotFound):
        csv_import.rejected_file_of_job(actor=make_owner(), job_id=job_id)  # another workspace's job


def test_an_import_without_rejected_rows_has_no_file_and_other_jobs_are_not_imports(owner, embedded):
    job_id = csv_import.submit_import(actor=owner, data=a_file(good=3, bad=0), mapping=MAPPING, runner=embedded)
    assert wait_for(owner, job_id, ("succeeded", "failed"), timeout=60).status == "succeeded"
    assert csv_import.rejected_file_of_job(actor=owner, job_id=job_id) is None

    other = background.submit(kind="system.selftest", args={"steps": 1, "pause": 0}, actor=owner, runner=embedded)
    wait_for(owner, other, ("succeeded", "failed"))
    with pytest.raises(InvalidInput, match="not a finished CSV import"):
        csv_import.rejected_file_of_job(actor=owner, job_id=other)
