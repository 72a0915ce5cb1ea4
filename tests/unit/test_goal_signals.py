"""Goals as users type them (issue 14 section 4): technology absence/presence is a fit signal, queries in
the goal's language, the audience kept, and no "near UK" or "new SaaS companies opening"."""

from __future__ import annotations

import re

import pytest

from core.scoring.rules import EvidenceFact, LeadFacts, factor_kind, score_rules
from core.strategy.heuristic import plan_from_goal
from core.strategy.models import ICP, parse_strategy

ENGLISH_WORDS = re.compile(r"\b(?:best|near|directory|reviews|association|opening|contact email|independent)\b", re.I)


def _texts(goal: str) -> list[str]:
    return [q.text for q in plan_from_goal(goal).queries]


def _factors(goal: str) -> list[str]:
    return [f.factor for f in plan_from_goal(goal).rubric]


@pytest.mark.parametrize(
    ("goal", "factor", "phrase"),
    [
        ("dental practices in Leeds without online booking", "No online booking found", "online booking"),
        ("e-commerce shops not on Shopify in the UK", "No Shopify found", "shopify"),
        ("shops still using Magento 1 in Germany", "Uses Magento 1", "magento"),
        ("law firms in Ohio with no SSL", "No SSL found", "ssl"),
        (
            "Looking for boutique hotels in Lisbon and Porto, Portugal that don't have online booking",
            "No online booking found",
            "online booking",
        ),
        ("Zahnarztpraxen in München ohne Online-Terminbuchung", "No Online-Terminbuchung found", "terminbuchung"),
        ("Cabinets dentaires à Lyon sans réservation en ligne", "No réservation en ligne found", "réservation"),
        ("Clínicas dentales en Madrid sin reserva online", "No reserva online found", "reserva"),
    ],
)
def test_technology_in_the_goal_is_a_rubric_factor_not_a_query_exclusion(goal: str, factor: str, phrase: str) -> None:
    strategy = plan_from_goal(goal)
    assert parse_strategy(strategy.model_dump()) == strategy
    assert factor in _factors(goal)
    assert factor_kind(factor) == "technology"
    assert not any(phrase in q.text.lower() for q in strategy.queries), [q.text for q in strategy.queries]
    assert not any(phrase in e.lower() for e in strategy.icp.exclusions)
    assert any(phrase in c.lower() and "crawled pages" in c for c in strategy.criteria)


def test_german_goal_keeps_its_terms_and_exclusion_and_gets_german_query_words() -> None:
    goal = "CNC-Fertigung in Baden-Württemberg, keine Händler"
    strategy = plan_from_goal(goal)
    texts = [q.text for q in strategy.queries]
    assert strategy.icp.industries == ["CNC-Fertigung"]
    assert strategy.icp.locations == ["Baden-Württemberg"]
    assert strategy.icp.exclusions == ["Händler"]
    assert all("CNC-Fertigung" in t and "Baden-Württemberg" in t for t in texts)
    assert "CNC-Fertigung Baden-Württemberg -Händler" in texts
    assert "CNC-Fertigung Baden-Württemberg Impressum" in texts
    assert not [t for t in texts if ENGLISH_WORDS.search(t)]


@pytest.mark.parametrize(
    ("goal", "industry", "place", "word"),
    [
        ("Cabinets d'architectes à Bordeaux, sauf les franchises", "cabinets d'architectes", "Bordeaux", "annuaire"),
        ("Clínicas veterinarias en Valencia, excepto cadenas", "clínicas veterinarias", "Valencia", "contacto"),
        ("Steuerberater in Hamburg ohne Online-Terminbuchung", "Steuerberater", "Hamburg", "Impressum"),
    ],
)
def test_french_spanish_german_goals_get_their_own_query_words(goal: str, industry: str, place: str, word: str) -> None:
    strategy = plan_from_goal(goal)
    texts = [q.text for q in strategy.queries]
    assert strategy.icp.industries == [industry] and strategy.icp.locations == [place]
    assert all(industry in t and place in t for t in texts), texts
    assert any(word in t for t in texts)
    assert not [t for t in texts if ENGLISH_WORDS.search(t)]


def test_french_and_spanish_exclusions_stay_exclusions() -> None:
    assert plan_from_goal("Cabinets d'architectes à Bordeaux, sauf les franchises").icp.exclusions == ["franchises"]
    assert plan_from_goal("Clínicas veterinarias en Valencia, excepto cadenas").icp.exclusions == ["cadenas"]


def test_saas_goal_keeps_its_audience_and_reads_no_local_templates() -> None:
    strategy = plan_from_goal("SaaS companies selling to HR teams in the UK")
    texts = [q.text for q in strategy.queries]
    assert "hr" in strategy.icp.keywords
    assert "SaaS companies selling to HR teams UK" in texts
    assert not [t for t in texts if re.search(r"near UK|opening|reviews", t)], texts


@pytest.mark.parametrize(
    "goal",
    ["plumbers in the UK", "new SaaS companies in London", "accounting firms in Germany", "SaaS startups in Berlin"],
)
def test_no_query_reads_near_a_country_or_new_saas_opening(goal: str) -> None:
    texts = _texts(goal)
    assert not [t for t in texts if re.search(r"\bnear (?:the )?(?:UK|Germany)\b", t)], texts
    assert not [t for t in texts if re.search(r"saas .*opening", t, re.I)], texts


def test_english_local_goal_keeps_its_nearby_queries() -> None:
    texts = _texts("dental practices in Leeds without online booking")
    assert "dental practices near Leeds" in texts and "dental practices Leeds" in texts


def _facts(tech: tuple[str, ...], pages: tuple[str, ...] = ("https://smile.test/",)) -> LeadFacts:
    evidence = [
        EvidenceFact(id=10 + i, field="tech", value=t, snippet=f"<script src=//{t}>") for i, t in enumerate(tech)
    ]
    evidence += [EvidenceFact(id=50 + i, field="page", value=p, snippet=p) for i, p in enumerate(pages)]
    return LeadFacts(lead_id=1, tech=tech, evidence=tuple(evidence))


def test_scoring_awards_the_absence_with_what_was_looked_for() -> None:
    rubric = [(f.factor, f.weight) for f in plan_from_goal("e-commerce shops not on Shopify in the UK").rubric]
    by_name = {f.factor: f for f in score_rules(rubric, ICP(), _facts(("WooCommerce",)))}
    assert by_name["No Shopify found"].fraction == 1.0
    assert "no Shopify found on the crawled pages (https://smile.test/)" == by_name["No Shopify found"].detail
    on_shopify = {f.factor: f for f in score_rules(rubric, ICP(), _facts(("Shopify",)))}
    assert on_shopify["No Shopify found"].fraction == 0.0
    assert on_shopify["No Shopify found"].evidence_ids == (10,)


def test_scoring_a_named_technology_and_ssl() -> None:
    [magento] = score_rules([("Uses Magento 1", 100)], ICP(), _facts(("Magento",)))
    assert (magento.fraction, magento.evidence_ids) == (1.0, (10,))
    assert "version 1 asked" in magento.detail
    [plain] = score_rules([("No SSL found", 100)], ICP(), _facts((), ("http://old.test/",)))
    assert plain.fraction == 1.0 and "http://old.test/" in plain.detail
    [secure] = score_rules([("No SSL found", 100)], ICP(), _facts((), ("https://new.test/",)))
    assert secure.fraction == 0.0
