"""Goal -> Strategy (LLM or heuristic), and campaigns with versioned, approvable strategies."""

from core.strategy.generate import estimate_cost, generate
from core.strategy.models import CampaignView, Strategy, StrategyVersionView, parse_strategy

__all__ = ["CampaignView", "Strategy", "StrategyVersionView", "estimate_cost", "generate", "parse_strategy"]
