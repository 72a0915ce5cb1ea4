"""goal -> Strategy: the LLM when a key is configured, the heuristic planner otherwise."""

from __future__ import annotations

import math

from core.config import Settings, get_settings
from core.errors import InvalidInput, LLMError
from core.llm import LLM, LLMRequest, load_prompt
from core.llm.ledger import cost_usd
from core.strategy.heuristic import balance_weights, plan_from_goal
from core.strategy.models import (
    MAX_QUERIES,
    MIN_GENERATED_QUERIES,
    CostPreview,
    Strategy,
    StrategyDraft,
    parse_strategy,
)

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


def strategy_from_draft(draft: StrategyDraft, *, fallback: Strategy) -> Strategy:
    """Repair the LLM's answer (query count, rubric sum) and validate it; gaps filled from ``fallback``."""
    queries: list[dict[str, str]] = []
    seen: set[str] = set()
    for query in draft.queries:
        text = " ".join(query.text.split())
        if text and text.lower() not in seen and len(queries) < MAX_QUERIES:
            seen.add(text.lower())
            queries.append({"text": text, "intent": query.intent.strip()})
    for extra in fallback.queries:  # too few usable queries: top up with the heuristic ones
        if len(queries) >= MIN_GENERATED_QUERIES:
            break
        if extra.text.lower() not in seen:
            seen.add(extra.text.lower())
            queries.append({"text": extra.text, "intent": extra.intent})
    factors = [(f.factor.strip(), float(max(f.weight, 0))) for f in draft.rubric if f.factor.strip()]
    rubric = balance_weights(factors) if sum(w for _n, w in factors) > 0 else fallback.rubric
    data = draft.model_dump()
    data.update(queries=queries, rubric=[f.model_dump() for f in rubric], mode="llm")
    data["criteria"] = data["criteria"] or list(fallback.criteria)
    try:
        return parse_strategy(data)
    except InvalidInput as exc:
        raise LLMError(f"The AI plan could not be used ({exc}). Try again or rephrase the goal.") from exc


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
    return with_cost(strategy_from_draft(draft, fallback=heuristic), settings=settings)
