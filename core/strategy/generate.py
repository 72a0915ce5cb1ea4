"""goal -> Strategy: the LLM when a key is configured, the heuristic planner otherwise."""

from __future__ import annotations

import math
import re

from core.config import Settings, get_settings
from core.errors import InvalidInput, LLMError
from core.llm import LLM, LLMRequest, load_prompt
from core.llm.ledger import cost_usd
from core.strategy.goal_parser import GoalParts, parse_goal
from core.strategy.heuristic import balance_weights, plan_from_goal
from core.strategy.models import (
    MAX_QUERIES,
    MIN_GENERATED_QUERIES,
    CostPreview,
    Strategy,
    StrategyDraft,
    parse_strategy,
)
from core.strategy.tech_goals import classify, is_tech_exclusion, is_technology_factor

MAX_GOAL_LENGTH = 2000
# Share of search results expected to be distinct company sites after de-duplication.
UNIQUE_SITE_SHARE = 0.6
# Share of the analysis tokens that are input (page text) rather than output (the judgement).
INPUT_TOKEN_SHARE = 0.85


def clean_goal(goal: str) -> str:
    """The goal with whitespace tidied; ``InvalidInput`` when it is too short or too long."""
    text = " ".join((goal or "").split())
    if len(text) < 3 or not any(c.isalpha() for c in text):
        raise InvalidInput("Describe the goal in a few words, e.g. 'independent bakeries in Leeds'.")
    if len(text) > MAX_GOAL_LENGTH:
        raise InvalidInput(f"Keep the goal under {MAX_GOAL_LENGTH} characters (it has {len(text)}).")
    return text


def estimate_cost(strategy: Strategy, *, settings: Settings | None = None) -> CostPreview:
    """Searches, pages, LLM tokens and money, and minutes expected to run ``strategy``."""
    s = settings or get_settings()
    searches = len(strategy.queries)
    sites = math.ceil(searches * s.search_results_per_query * UNIQUE_SITE_SHARE)
    pages = sites * (1 + s.crawl_max_pages)  # the home page and at most CRAWL_MAX_PAGES more: the crawl's own limit
    tokens = sites * s.llm_tokens_per_site if s.openai_enabled else 0
    input_tokens = int(tokens * INPUT_TOKEN_SHARE)
    money = cost_usd(
        model=s.openai_model, input_tokens=input_tokens, output_tokens=tokens - input_tokens, prices=s.llm_prices
    )
    seconds = searches / s.search_rate_per_second + pages / s.crawl_pages_per_second
    return CostPreview(
        searches=searches,
        pages_to_crawl=pages,
        llm_tokens=tokens,
        llm_cost_usd=round(money, 4),
        minutes=round(seconds / 60, 1),
    )


def with_cost(strategy: Strategy, *, settings: Settings | None = None) -> Strategy:
    """``strategy`` with its cost preview recomputed."""
    return strategy.model_copy(update={"cost_preview": estimate_cost(strategy, settings=settings)})


_MINUS = re.compile(r'\s-(?:"(?P<phrase>[^"]+)"|(?P<word>[^\s"]+))')


def _without_tech_exclusions(text: str, parts: GoalParts | None) -> str:
    """The query without ``-"online booking"``: an absent technology is checked on the pages, not searched."""
    if parts is None or not parts.tech_signals:
        return text

    def keep(match: re.Match[str]) -> str:
        term = match.group("phrase") or match.group("word")
        return "" if is_tech_exclusion(term, parts.tech_signals) or classify(term, present=False) else match.group(0)

    return " ".join(_MINUS.sub(keep, f" {text}").split())


def _goal_terms(parts: GoalParts) -> list[str]:
    """Word stems of the goal's industry and place ("cnc-fertigung", "baden", "leeds", "hr")."""
    words = [w for phrase in (*parts.segments, *parts.locations, *parts.keywords) for w in re.findall(r"[\w]+", phrase)]
    return sorted({w.lower()[:6] for w in words if len(w) >= 3 or w.isupper()} - {"the", "and", "companies"})


def carries_goal_terms(text: str, terms: list[str]) -> bool:
    """Whether a query names the goal's industry or place (any stem at a word start); True without terms."""
    lowered = text.lower()
    return not terms or any(re.search(rf"(?<!\w){re.escape(t)}", lowered) for t in terms)


def strategy_from_draft(draft: StrategyDraft, *, fallback: Strategy, goal: str = "") -> Strategy:
    """Repair the LLM's answer (query count, rubric sum) and validate it; gaps filled from ``fallback``.

    With ``goal``: technologies the goal asks against leave the queries (``-"online booking"``) and the
    exclusions and come in as rubric factors; queries naming neither the goal's industry nor its place
    are replaced by rule-based ones, and the summary says so.
    """
    parts = parse_goal(goal) if goal else None
    terms = _goal_terms(parts) if parts is not None else []
    queries: list[dict[str, str]] = []
    seen: set[str] = set()
    off_goal: list[str] = []
    for query in draft.queries:
        text = _without_tech_exclusions(" ".join(query.text.split()), parts)
        if text and not carries_goal_terms(text, terms):
            off_goal.append(text)
            continue
        if text and text.lower() not in seen and len(queries) < MAX_QUERIES:
            seen.add(text.lower())
            queries.append({"text": text, "intent": query.intent.strip()})
    wanted = min(MAX_QUERIES, max(MIN_GENERATED_QUERIES, len(draft.queries) if off_goal else 0))
    for extra in fallback.queries:  # too few usable queries: top up with the heuristic ones
        if len(queries) >= wanted:
            break
        if extra.text.lower() not in seen:
            seen.add(extra.text.lower())
            queries.append({"text": extra.text, "intent": extra.intent})
    factors = [(f.factor.strip(), float(max(f.weight, 0))) for f in draft.rubric if f.factor.strip()]
    if parts is not None:
        factors += _missing_tech_factors(parts, [name for name, _w in factors])
    rubric = balance_weights(factors) if sum(w for _n, w in factors) > 0 else fallback.rubric
    data = draft.model_dump()
    data.update(queries=queries, rubric=[f.model_dump() for f in rubric], mode="llm")
    if parts is not None and parts.tech_signals:
        data["icp"]["exclusions"] = [e for e in data["icp"]["exclusions"] if classify(e, present=False) is None]
    if off_goal:
        data["summary"] = (
            f"Note: {len(off_goal)} of the AI's {len(draft.queries)} queries named neither the goal's industry "
            f'nor its place (e.g. "{off_goal[0]}") and were replaced by rule-based ones. ' + data["summary"]
        ).strip()
    data["criteria"] = data["criteria"] or list(fallback.criteria)
    try:
        return parse_strategy(data)
    except InvalidInput as exc:
        raise LLMError(f"The AI plan could not be used ({exc}). Try again or rephrase the goal.") from exc


def _missing_tech_factors(parts: GoalParts, names: list[str]) -> list[tuple[str, float]]:
    """Rubric factors for the goal's technology signals the LLM's rubric does not score already."""
    have = {is_technology_factor(n) for n in names} - {""}
    missing = []
    for signal in parts.tech_signals[:2]:
        key = signal.category.lower() or is_technology_factor(signal.factor)
        if key not in have:
            missing.append((signal.factor, 20.0))
    return missing


def generate(
    goal: str,
    *,
    llm: LLM | None,
    workspace_id: int | None = None,
    campaign_id: int | None = None,
    settings: Settings | None = None,
) -> Strategy:
    """A complete strategy for ``goal``: LLM structured output when ``llm`` is given, else heuristic."""
    text = clean_goal(goal)
    heuristic = plan_from_goal(text)
    if llm is None:
        return with_cost(heuristic, settings=settings)
    request = LLMRequest(
        purpose="strategy",
        prompt=load_prompt("strategy", 1),
        data={"goal": text},
        workspace_id=workspace_id,
        campaign_id=campaign_id,
    )
    draft = llm.structured(request, StrategyDraft).value
    return with_cost(strategy_from_draft(draft, fallback=heuristic, goal=text), settings=settings)
