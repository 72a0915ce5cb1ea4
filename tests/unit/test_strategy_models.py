"""Strategy validation messages and the what-changed note."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.strategy.changes import describe_changes
from core.strategy.heuristic import plan_from_goal
from core.strategy.models import parse_strategy

BASE = plan_from_goal("florists in Leeds and York, not supermarkets")


def edited(**changes):
    return parse_strategy({**BASE.model_dump(), **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"rubric": [{"factor": "Fit", "weight": 60}, {"factor": "Place", "weight": 30}]},
            r"must add up to 100 \(they add up to 90\)",
        ),
        ({"rubric": [{"factor": "Fit", "weight": 150}, {"factor": "Place", "weight": -50}]}, "between 0 and 100"),
        ({"rubric": [{"factor": "", "weight": 100}]}, "needs a name"),
        ({"rubric": [{"factor": "Fit", "weight": 50}, {"factor": "fit", "weight": 50}]}, "must be different"),
        ({"rubric": []}, "at least one factor"),
        ({"queries": []}, "1 to 20 queries"),
        ({"queries": [{"text": "a"}, {"text": "A "}]}, "query 2 repeats query 1"),
        ({"queries": [{"text": ""}]}, "queries row 1 text: query text cannot be empty"),
        ({"queries": [{"text": "x" * 301}]}, "at most 300 characters"),
        ({"mode": "magic"}, "mode"),
    ],
)
def test_invalid_strategies_are_explained(changes, message):
    with pytest.raises(InvalidInput, match=message):
        edited(**changes)


def test_lists_are_tidied():
    strategy = edited(
        criteria=["  a ", "", "A", "b"], icp={**BASE.icp.model_dump(), "locations": ["Leeds", " leeds", ""]}
    )
    assert strategy.criteria == ["a", "b"]
    assert strategy.icp.locations == ["Leeds"]


def test_describe_changes_names_each_part():
    queries = [q.model_dump() for q in BASE.queries]
    queries[0]["text"] = "florist shops Leeds"
    after = edited(
        queries=queries,
        icp={**BASE.icp.model_dump(), "locations": ["Leeds", "York", "Harrogate"], "company_size": "small"},
        angle={"value_proposition": BASE.angle.value_proposition, "tone": "formal"},
    )
    note = describe_changes(BASE, after)
    assert "ICP locations: added 'Harrogate'" in note
    assert f"queries: added 'florist shops Leeds'; removed '{BASE.queries[0].text}'" in note
    assert "company size: 'any' -> 'small'" in note
    assert f"tone: '{BASE.angle.tone}' -> 'formal'" in note
    assert describe_changes(BASE, BASE) == ""


def test_reordering_queries_is_a_change():
    reordered = edited(queries=[q.model_dump() for q in reversed(BASE.queries)])
    assert describe_changes(BASE, reordered) == "queries: reordered"
