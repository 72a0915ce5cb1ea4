"""The LLM adapter: a Protocol, and the real class around the official openai SDK."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.errors import LLMError
from core.llm import ledger
from core.llm.failures import Failure, classify
from core.llm.prompt import Prompt, render_data
from core.retry import backoff_delay

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)

_semaphores: dict[int, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def shared_semaphore(size: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore bounding concurrent LLM requests (one per configured size)."""
    with _semaphores_lock:
        if size not in _semaphores:
            _semaphores[size] = threading.BoundedSemaphore(max(size, 1))
        return _semaphores[size]


@dataclass(frozen=True)
class LLMRequest:
    """What to ask: a versioned prompt, the data blocks it reads, and who pays for it."""

    purpose: str
    prompt: Prompt
    data: Mapping[str, str]
    workspace_id: int | None = None
    campaign_id: int | None = None


@dataclass(frozen=True)
class LLMResult(Generic[T]):
    """The parsed answer with its usage and cost (zero cost when served from the cache)."""

    value: T
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cache_hit: bool


class LLM(Protocol):
    """Anything that answers a prompt with a validated pydantic model."""

    model: str

    def structured(self, request: LLMRequest, schema: type[T]) -> LLMResult[T]:
        """Answer ``request`` as an instance of ``schema``."""
        ...


@dataclass
class _Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    attempts: int = 0
    failures: list[Failure] = field(default_factory=list)


class OpenAILLM:
    """The OpenAI SDK (or any compatible server) with our retries, cache, budget and ledger."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str,
        timeout_seconds: float = 60.0,
        max_retries: int = 4,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        max_concurrency: int = 4,
        prices: Mapping[str, tuple[float, float]] | None = None,
        output_token_estimate: int = 2000,
        uow_factory: Callable[[], UnitOfWork] = UnitOfWork,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self._timeout = timeout_seconds
        self._max_retries = max_retries
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._semaphore = shared_semaphore(max_concurrency)
        self._prices = dict(prices or {})
        self._output_estimate = output_token_estimate
        self._uow_factory = uow_factory
        self._sleep = sleep
        self._rng = rng
        # max_retries=0: the SDK's own retries would hide attempts from our ledger and backoff.
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=0)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> OpenAILLM:
        """A client configured from Settings; keyword overrides win (tests, benchmarks)."""
        s = settings or get_settings()
        options: dict[str, Any] = {
            "api_key": s.openai_api_key.get_secret_value() if s.openai_api_key else "",
            "base_url": s.openai_base_url,
            "model": s.openai_model,
            "timeout_seconds": s.llm_timeout_seconds,
            "max_retries": s.llm_max_retries,
            "backoff_base_seconds": s.llm_backoff_base_seconds,
            "backoff_max_seconds": s.llm_backoff_max_seconds,
            "max_concurrency": s.llm_max_concurrency,
            "prices": s.llm_prices,
            "output_token_estimate": s.llm_output_token_estimate,
        }
        options.update(overrides)
        return cls(**options)

    def structured(self, request: LLMRequest, schema: type[T]) -> LLMResult[T]:
        """Answer from the cache, or check the budget, send (with retries), record and cache."""
        user_message = render_data(request.data)
        key = ledger.cache_key(
            model=self.model,
            prompt_version=request.prompt.version,
            prompt_digest=request.prompt.digest,
            schema=schema.__name__,
            data=request.data,
        )
        cached = self._from_cache(request, schema, key)
        if cached is not None:
            return cached
        schema_text = json.dumps(schema.model_json_schema())
        estimated_in = ledger.estimate_tokens(request.prompt.system + user_message + schema_text)
        ledger.check_budget(
            workspace_id=request.workspace_id,
            campaign_id=request.campaign_id,
            estimated_tokens=estimated_in + self._output_estimate,
            estimated_usd=self._cost(estimated_in, self._output_estimate),
            uow_factory=self._uow_factory,
        )
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": request.prompt.system},
            {"role": "user", "content": user_message},
        ]
        usage = _Usage()
        started = time.monotonic()
        error = ""
        try:
            with self._semaphore:
                value = self._send_with_retries(messages, schema, usage)
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            raise
        finally:
            self._record(request, key, usage, started, cache_hit=False, error=error)
        answer = ledger.CachedAnswer(value.model_dump(mode="json"), usage.input_tokens, usage.output_tokens)
        ledger.write_cache(
            key=key,
            model=self.model,
            prompt_version=request.prompt.version,
            answer=answer,
            uow_factory=self._uow_factory,
        )
        return LLMResult(
            value,
            self.model,
            usage.input_tokens,
            usage.output_tokens,
            self._cost(usage.input_tokens, usage.output_tokens),
            cache_hit=False,
        )

    def _from_cache(self, request: LLMRequest, schema: type[T], key: str) -> LLMResult[T] | None:
        cached = ledger.read_cache(key=key, uow_factory=self._uow_factory)
        if cached is None:
            return None
        try:
            value = schema.model_validate(cached.response)
        except ValidationError:
            log.warning("ignoring a cached %s answer that no longer validates", schema.__name__)
            return None
        usage = _Usage(cached.input_tokens, cached.output_tokens)
        self._record(request, key, usage, time.monotonic(), cache_hit=True, error="")
        return LLMResult(value, self.model, cached.input_tokens, cached.output_tokens, 0.0, cache_hit=True)

    def _send_with_retries(self, messages: list[ChatCompletionMessageParam], schema: type[T], usage: _Usage) -> T:
        transient_tries = 0
        parse_tries = 0
        while True:
            usage.attempts += 1
            try:
                return self._send_once(messages, schema, usage)
            except (openai.OpenAIError, ValueError) as exc:
                cause: BaseException = exc
                failure = classify(exc, model=self.model, base_url=self.base_url, timeout=self._timeout)
            usage.failures.append(failure)
            log.info("LLM attempt %d failed: %s", usage.attempts, failure.message)
            if failure.kind == "unparseable":
                parse_tries += 1
                if parse_tries > 1:  # an unreadable answer is retried once, then reported
                    raise LLMError(
                        f"The model's answer could not be read after {parse_tries} tries: {failure.message}. "
                        f"Try again, or choose a model that supports structured output.",
                        kind=failure.kind,
                    ) from cause
                continue
            if not failure.retryable:
                raise LLMError(failure.message, kind=failure.kind) from cause
            if transient_tries >= self._max_retries:
                raise LLMError(
                    f"{failure.message} Gave up after {usage.attempts} tries; try again in a few minutes.",
                    kind=failure.kind,
                ) from cause
            self._sleep(
                backoff_delay(
                    transient_tries,
                    base=self._backoff_base,
                    cap=self._backoff_max,
                    retry_after=failure.retry_after,
                    rng=self._rng,
                )
            )
            transient_tries += 1

    def _send_once(self, messages: list[ChatCompletionMessageParam], schema: type[T], usage: _Usage) -> T:
        raw = self._client.chat.completions.with_raw_response.parse(
            model=self.model,
            messages=messages,
            response_format=schema,  # type: ignore[arg-type]
        )
        body = raw.http_response.json()
        tokens = body.get("usage") or {} if isinstance(body, dict) else {}
        usage.input_tokens += int(tokens.get("prompt_tokens") or 0)
        usage.output_tokens += int(tokens.get("completion_tokens") or 0)
        completion = raw.parse()
        if not completion.choices:
            raise ValueError("the answer had no choices")
        message = completion.choices[0].message
        if message.refusal:
            raise ValueError(f"the model refused: {message.refusal[:160]}")
        if message.parsed is None:
            raise ValueError("the answer was empty")
        return message.parsed

    def _cost(self, input_tokens: int, output_tokens: int) -> float:
        return ledger.cost_usd(
            model=self.model, input_tokens=input_tokens, output_tokens=output_tokens, prices=self._prices
        )

    def _record(
        self, request: LLMRequest, key: str, usage: _Usage, started: float, *, cache_hit: bool, error: str
    ) -> None:
        cost = 0.0 if cache_hit else self._cost(usage.input_tokens, usage.output_tokens)
        ledger.record_call(
            uow_factory=self._uow_factory,
            workspace_id=request.workspace_id,
            campaign_id=request.campaign_id,
            purpose=request.purpose,
            model=self.model,
            prompt_version=request.prompt.version,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost,
            latency_ms=int((time.monotonic() - started) * 1000),
            cache_hit=cache_hit,
            cache_key=key,
            error=error[:2000],
        )


def get_llm(settings: Settings | None = None) -> LLM | None:
    """The configured LLM, or None when no API key is set (callers fall back to heuristics)."""
    s = settings or get_settings()
    return OpenAILLM.from_settings(s) if s.openai_enabled else None
