"""The LLM layer: structured output, retries, usage and cost, cache and budget."""

from core.llm.client import LLM, LLMRequest, LLMResult, OpenAILLM, get_llm
from core.llm.prompt import Prompt, load_prompt

__all__ = ["LLM", "LLMRequest", "LLMResult", "OpenAILLM", "Prompt", "get_llm", "load_prompt"]
