"""The heuristic planner on varied goals: valid strategies, with the places and exclusions found."""

from __future__ import annotations

import pytest

from core.strategy.heuristic import balance_weights, plan_from_goal
from core.strategy.models import MAX_QUERIES, MIN_GENERATED_QUERIES, parse_strategy

# (goal, locations expected, exclusions expected, an industry expected)
GOALS = [
    (
        "independent coffee roasters in Portland, OR that sell online and might need compostable packaging",
        ["Portland, OR"],
        [],
        "coffee roasters",
    ),
    (
        "Find dentists in Austin, Dallas and Houston, not chains",
        ["Austin", "Dallas", "Houston"],
        ["chains"],
        "dentists",
    ),
    (
        "We sell commercial espresso machines to cafes and bakeries in Berlin excluding franchises",
        ["Berlin"],
        ["franchises"],
        "cafes",
    ),
    ("Family-owned wineries near Napa Valley with a tasting room", ["Napa Valley"], [], "wineries"),
    ("SaaS companies using HubSpot with 50-200 employees", [], [], "SaaS companies"),
    ("plumbers around Manchester, UK", ["Manchester, UK"], [], "plumbers"),
    (
        "Looking for boutique hotels in Lisbon and Porto, Portugal that don't have online booking",
        ["Lisbon", "Porto, Portugal"],
        [],
        "hotels",
    ),
    ("yoga studios in germany", ["Germany"], [], "yoga studios"),
    (
        "accounting firms with fewer than 20 employees in Toronto, Ontario except Big Four",
        ["Toronto, Ontario"],
        ["Big Four"],
        "accounting firms",
    ),
    ("Veterinary clinics", [], [], "veterinary clinics"),
    (
        "Help me find craft breweries in the Pacific Northwest that distribute in cans",
        ["Pacific Northwest"],
        [],
        "craft breweries",
    ),
    (
        "I want to reach e-commerce brands selling on Shopify in the UK, excluding dropshippers and marketplaces",
        ["UK"],
        ["dropshippers", "marketplaces"],
        "e-commerce brands",
    ),
    ("Construction companies in São Paulo", ["São Paulo"], [], "construction companies"),
    ("Mid-sized logistics companies in the Netherlands hiring drivers", ["Netherlands"], [], "logistics companies"),
    ("enterprise software vendors in Bangalore, India", ["Bangalore, India"], [], "software vendors"),
    (
        "Physiotherapy practices near Melbourne, Victoria without a booking website",
        ["Melbourne, Victoria"],
        [],  # a technology asked against is a rubric factor ("No booking website found"), not an exclusion
        "physiotherapy practices",
    ),
    ("We offer bookkeeping services to restaurants in New York City", ["New York City"], [], "restaurants"),
    ("Italian restaurants in Chicago but not pizza chains", ["Chicago"], ["pizza chains"], "Italian restaurants"),
    ("Recruitment agencies in Dublin, Ireland", ["Dublin, Ireland"], [], "recruitment agencies"),
    (
        "organic farms in Vermont and New Hampshire that sell at farmers markets",
        ["Vermont", "New Hampshire"],
        [],
        "organic farms",
    ),
    ("marketing agencies in Paris", ["Paris"], [], "marketing agencies"),
    ("Hair salons in Frankfurt am Main", ["Frankfurt am Main"], [], "hair salons"),
    (
        "solar installers in Texas, excluding residential-only companies",
        ["Texas"],
        ["residential-only companies"],
        "solar installers",
    ),
    ("Landscaping businesses around St. Louis", ["St. Louis"], [], "landscaping businesses"),
    ("Bike shops in Amsterdam, Utrecht and Rotterdam", ["Amsterdam", "Utrecht", "Rotterdam"], [], "bike shops"),
    ("Pet groomers", [], [], "pet groomers"),
    ("Kindergartens and preschools in Zurich, Switzerland", ["Zurich, Switzerland"], [], "preschools"),
    (
        "Get me leads for independent bookshops in Edinburgh and Glasgow, no chains or franchises",
        ["Edinburgh", "Glasgow"],
        ["chains", "franchises"],
        "bookshops",
    ),
    ("car dealerships near Lyon, France except luxury brands", ["Lyon, France"], ["luxury brands"], "car dealerships"),
    ("Show me small architecture firms in Copenhagen", ["Copenhagen"], [], "architecture firms"),
    ("Wedding photographers in Cape Town, South Africa", ["Cape Town, South Africa"], [], "wedding photographers"),
    ("Fitness gyms in Mexico City not part of a franchise", ["Mexico City"], ["part of a franchise"], "fitness gyms"),
]


@pytest.mark.parametrize(("goal", "locations", "exclusions", "industry"), GOALS, ids=[g[0][:40] for g in GOALS])
def test_heuristic_strategy_is_valid_and_finds_places_and_exclusions(goal, locations, exclusions, industry):
    strategy = plan_from_goal(goal)
    assert parse_strategy(strategy.model_dump()) == strategy  # round-trips through validation
    assert strategy.mode == "heuristic"
    assert strategy.icp.locations == locations
    assert strategy.icp.exclusions == exclusions
    assert industry in strategy.icp.industries
    assert MIN_GENERATED_QUERIES <= len(strategy.queries) <= MAX_QUERIES
    assert all(q.text and q.intent for q in strategy.queries)
    assert sum(f.weight for f in strategy.rubric) == 100
    assert strategy.summary and strategy.criteria and strategy.angle.value_proposition and strategy.angle.tone
    for place in locations:
        assert any(place in q.text for q in strategy.queries)


def test_enough_varied_goals():
    assert len(GOALS) >= 25
    assert sum(1 for g in GOALS if not g[1]) >= 3 and sum(1 for g in GOALS if g[2]) >= 8


def test_heuristic_is_deterministic():
    assert plan_from_goal(GOALS[0][0]) == plan_from_goal(GOALS[0][0])


@pytest.mark.parametrize(
    ("goal", "size"),
    [
        ("accounting firms with fewer than 20 employees", "1-20 employees"),
        ("SaaS companies with 50-200 employees", "50-200 employees"),
        ("family-owned bakeries", "small (1-50 employees)"),
        ("mid-market manufacturers in Ohio", "mid-sized (50-500 employees)"),
        ("enterprise banks in London", "large (500+ employees)"),
        ("florists in Leeds", "any"),
    ],
)
def test_size_cues(goal, size):
    assert plan_from_goal(goal).icp.company_size == size


def test_offer_and_need_shape_the_angle():
    sold = plan_from_goal("We sell commercial espresso machines to cafes in Berlin")
    assert "commercial espresso machines" in sold.angle.value_proposition
    needy = plan_from_goal("coffee roasters in Leeds that might need compostable packaging")
    assert "compostable packaging" in needy.angle.value_proposition


def test_balance_weights_always_sum_to_100():
    weights = balance_weights([("a", 1), ("b", 1), ("c", 1)])
    assert [f.weight for f in weights] == [34, 33, 33]
