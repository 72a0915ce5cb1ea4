"""The Strategy (validated pydantic, stored as JSON), the LLM's answer schema, and read views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from core.errors import InvalidInput

MIN_QUERIES, MAX_QUERIES = 1, 20
MIN_GENERATED_QUERIES = 5
MAX_QUERY_LENGTH = 300


def _clean_list(values: list[str]) -> list[str]:
    """Trimmed, without blanks or repeats (case-insensitive), order kept."""
    seen: set[str] = set()
    cleaned = []
    for value in values:
        text = " ".join(str(value).split())
        if text and text.lower() not in seen:
            seen.add(text.lower())
            cleaned.append(text)
    return cleaned


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ICP(_Value):
    """The ideal customer profile."""

    industries: list[str] = []
    locations: list[str] = []
    company_size: str = "any"
    keywords: list[str] = []
    signals: list[str] = []
    exclusions: list[str] = []

    @field_validator("industries", "locations", "keywords", "signals", "exclusions")
    @classmethod
    def _tidy(cls, values: list[str]) -> list[str]:
        return _clean_list(values)


class Query(_Value):
    """One web search and what it is meant to find."""

    text: str
    intent: str = ""

    @field_validator("text")
    @classmethod
    def _text(cls, text: str) -> str:
        text = " ".join(text.split())
        if not text:
            raise ValueError("query text cannot be empty")
        if len(text) > MAX_QUERY_LENGTH:
            raise ValueError(f"query text must be at most {MAX_QUERY_LENGTH} characters")
        return text


class RubricFactor(_Value):
    """A scoring factor and its weight out of 100."""

    factor: str
    weight: int

    @field_validator("factor")
    @classmethod
    def _factor(cls, factor: str) -> str:
        if not factor:
            raise ValueError("every rubric factor needs a name")
        return factor

    @field_validator("weight")
    @classmethod
    def _weight(cls, weight: int) -> int:
        if not 0 <= weight <= 100:
            raise ValueError("rubric weights must be between 0 and 100")
        return weight


class Angle(_Value):
    """The outreach angle."""

    value_proposition: str = ""
    tone: str = ""


class CostPreview(_Value):
    """What running the strategy is expected to cost before anything is spent."""

    searches: int = 0
    pages_to_crawl: int = 0
    llm_tokens: int = 0
    llm_cost_usd: float = 0.0
    minutes: float = 0.0


class Strategy(_Value):
    """A campaign's plan: who to find, how to search, how to qualify and score, how to approach."""

    summary: str = ""
    icp: ICP = ICP()
    queries: list[Query]
    criteria: list[str] = []
    rubric: list[RubricFactor]
    angle: Angle = Angle()
    cost_preview: CostPreview = CostPreview()
    mode: Literal["llm", "heuristic"] = "heuristic"

    @field_validator("criteria")
    @classmethod
    def _criteria(cls, values: list[str]) -> list[str]:
        return _clean_list(values)

    @model_validator(mode="after")
    def _whole(self) -> Strategy:
        if not MIN_QUERIES <= len(self.queries) <= MAX_QUERIES:
            raise ValueError(f"a strategy needs {MIN_QUERIES} to {MAX_QUERIES} queries (it has {len(self.queries)})")
        seen: dict[str, int] = {}
        for number, query in enumerate(self.queries, start=1):
            earlier = seen.setdefault(query.text.lower(), number)
            if earlier != number:
                raise ValueError(f"query {number} repeats query {earlier} ('{query.text}')")
        if not self.rubric:
            raise ValueError("the rubric needs at least one factor")
        total = sum(f.weight for f in self.rubric)
        if total != 100:
            raise ValueError(f"rubric weights must add up to 100 (they add up to {total})")
        names = [f.factor.lower() for f in self.rubric]
        if len(set(names)) != len(names):
            raise ValueError("rubric factor names must be different from each other")
        return self


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [f"row {p + 1}" if isinstance(p, int) else str(p).replace("_", " ") for p in loc]
    return " ".join(parts)


def parse_strategy(data: Any) -> Strategy:
    """A Strategy from JSON-like data; ``InvalidInput`` lists every problem in plain words."""
    if isinstance(data, Strategy):
        return data
    try:
        return Strategy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            where = _where(error["loc"])
            problems.append(f"{where}: {message}" if where else message)
        raise InvalidInput("The strategy is not valid: " + "; ".join(problems) + ".") from exc


class DraftICP(BaseModel):
    """The ICP as the LLM answers it (no defaults, so it works as a strict JSON schema)."""

    industries: list[str]
    locations: list[str]
    company_size: str
    keywords: list[str]
    signals: list[str]
    exclusions: list[str]


class DraftQuery(BaseModel):
    """A query as the LLM answers it."""

    text: str
    intent: str


class DraftRubricFactor(BaseModel):
    """A rubric factor as the LLM answers it."""

    factor: str
    weight: int


class DraftAngle(BaseModel):
    """The angle as the LLM answers it."""

    value_proposition: str
    tone: str


class StrategyDraft(BaseModel):
    """The LLM's structured answer; repaired and validated into a ``Strategy``."""

    summary: str
    icp: DraftICP
    queries: list[DraftQuery]
    criteria: list[str]
    rubric: list[DraftRubricFactor]
    angle: DraftAngle


@dataclass(frozen=True)
class CampaignView:
    """A campaign as the pages list it."""

    id: int
    name: str
    goal: str
    status: str
    approved_version_id: int | None
    latest_version: int
    mode: str
    created_at: datetime


@dataclass(frozen=True)
class StrategyVersionView:
    """One saved version of a campaign's strategy."""

    id: int
    campaign_id: int
    version: int
    mode: str
    strategy: Strategy
    change_note: str
    created_at: datetime
    created_by: str
