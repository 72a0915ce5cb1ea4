"""The LLM's books: response cache, call records, cost from the price table, campaign budgets."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.db import UnitOfWork
from core.db.models import Campaign, LLMCacheEntry, LLMCall
from core.errors import QuotaExceeded

UowFactory = Callable[[], UnitOfWork]
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer and the usage of the call that produced it."""

    response: dict[str, Any]
    input_tokens: int
    output_tokens: int


def normalise_text(text: str) -> str:
    """Whitespace collapsed and trimmed, so cosmetic differences share a cache entry."""
    return _SPACES.sub(" ", text).strip()


def cache_key(*, model: str, prompt_version: str, prompt_digest: str, schema: str, data: Mapping[str, str]) -> str:
    """sha256 over model, prompt version (and its text digest), answer schema and normalised input."""
    payload = {
        "model": model,
        "prompt": prompt_version,
        "digest": prompt_digest,
        "schema": schema,
        "data": {tag: normalise_text(text) for tag, text in sorted(data.items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def estimate_tokens(text: str) -> int:
    """A token count for text that errs high (English averages four characters a token)."""
    return len(text) // 3 + 16


def cost_usd(*, model: str, input_tokens: int, output_tokens: int, prices: Mapping[str, tuple[float, float]]) -> float:
    """Cost of a call from the per-million-token price table; unknown models cost 0."""
    price = prices.get(model)
    if price is None:
        # Dated snapshots ("gpt-4o-mini-2024-07-18") are priced like their family.
        family = max((name for name in prices if model.startswith(name)), key=len, default=None)
        price = prices[family] if family else (0.0, 0.0)
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 8)


def read_cache(*, key: str, uow_factory: UowFactory) -> CachedAnswer | None:
    """The stored answer for ``key``, if any."""
    with uow_factory() as uow:
        entry = uow.session.scalar(select(LLMCacheEntry).where(LLMCacheEntry.cache_key == key))
        if entry is None:
            return None
        return CachedAnswer(dict(entry.response), entry.input_tokens, entry.output_tokens)


def write_cache(*, key: str, model: str, prompt_version: str, answer: CachedAnswer, uow_factory: UowFactory) -> None:
    """Store an answer; a concurrent identical request that stored it first wins."""
    with uow_factory() as uow:
        uow.session.add(
            LLMCacheEntry(
                cache_key=key,
                model=model,
                prompt_version=prompt_version,
                response=answer.response,
                input_tokens=answer.input_tokens,
                output_tokens=answer.output_tokens,
            )
        )
        try:
            uow.commit()
        except IntegrityError:
            pass


def record_call(*, uow_factory: UowFactory, **fields: Any) -> None:
    """Append one row to ``llm_call`` (in its own transaction, so failures are kept too)."""
    with uow_factory() as uow:
        uow.session.add(LLMCall(**fields))
        uow.commit()


def check_budget(
    *,
    workspace_id: int | None,
    campaign_id: int | None,
    estimated_tokens: int,
    estimated_usd: float,
    uow_factory: UowFactory,
) -> None:
    """Raise ``QuotaExceeded`` when the campaign's spend plus this estimate would pass its budget."""
    if campaign_id is None:
        return
    with uow_factory() as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is None or (workspace_id is not None and campaign.workspace_id != workspace_id):
            return
        if campaign.budget_usd is None and campaign.budget_tokens is None:
            return
        spent_tokens, spent_usd = uow.session.execute(
            select(
                func.coalesce(func.sum(LLMCall.input_tokens + LLMCall.output_tokens), 0),
                func.coalesce(func.sum(LLMCall.cost_usd), 0.0),
            ).where(LLMCall.campaign_id == campaign_id, LLMCall.cache_hit.is_(False))
        ).one()
        name = campaign.name
        budget_tokens, budget_usd = campaign.budget_tokens, campaign.budget_usd
    if budget_tokens is not None and spent_tokens + estimated_tokens > budget_tokens:
        raise QuotaExceeded(
            f"Campaign '{name}' has used {spent_tokens:,} of its {budget_tokens:,} LLM tokens; this step "
            f"needs about {estimated_tokens:,} more. Raise the campaign's token budget to continue."
        )
    if budget_usd is not None and float(spent_usd) + estimated_usd > budget_usd:
        raise QuotaExceeded(
            f"Campaign '{name}' has spent ${float(spent_usd):.4f} of its ${budget_usd:.2f} LLM budget; this "
            f"step would cost about ${estimated_usd:.4f} more. Raise the campaign's budget to continue."
        )
