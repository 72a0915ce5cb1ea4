"""The LLM layer: structured output, retries, usage and cost, cache and budget."""

from core.llm.client import LLM, LLMRequest, LLMResult, OpenAILLM, get_llm
from core.llm.configured import CONFIGURED, resolve_llm
from core.llm.prompt import Prompt, load_prompt

__all__ = [
    "CONFIGURED",
    "LLM",
    "LLMRequest",
    "LLMResult",
    "OpenAILLM",
    "Prompt",
    "get_llm",
    "load_prompt",
    "resolve_llm",
]
