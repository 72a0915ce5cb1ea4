"""``python -m core plan "<goal>" [--json]``: print the strategy for a goal without saving it."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.output import fail, print_json
from core.errors import LeadScoutError
from core.llm import get_llm
from core.strategy import generate
from core.strategy.models import Strategy


def register(subparsers: Any) -> None:
    """Add the ``plan`` subcommand to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "plan",
        help="turn a plain-English goal into a strategy (LLM with OPENAI_API_KEY, else heuristic)",
        description="Print the strategy for GOAL. Nothing is saved; use the UI to keep and approve it.",
    )
    parser.add_argument("goal", help='e.g. "independent coffee roasters in Portland, OR"')
    parser.add_argument("--json", action="store_true", help="print the strategy as JSON")
    parser.add_argument("--heuristic", action="store_true", help="use the heuristic planner even with a key")
    parser.set_defaults(func=run)


def render_text(strategy: Strategy) -> str:
    """A readable plain-text rendering of a strategy."""
    icp, cost = strategy.icp, strategy.cost_preview
    lines = [f"[{strategy.mode}] {strategy.summary}", "", "Ideal customer:"]
    for label in ("industries", "locations", "keywords", "signals", "exclusions"):
        lines.append(f"  {label}: {', '.join(getattr(icp, label)) or '-'}")
    lines.append(f"  company size: {icp.company_size}")
    lines += ["", "Queries:"] + [f"  {i}. {q.text}  ({q.intent})" for i, q in enumerate(strategy.queries, 1)]
    lines += ["", "Criteria:"] + [f"  - {c}" for c in strategy.criteria]
    lines += ["", "Rubric:"] + [f"  {f.weight:>3}  {f.factor}" for f in strategy.rubric]
    lines += ["", f"Angle: {strategy.angle.value_proposition} (tone: {strategy.angle.tone})", ""]
    lines.append(
        f"Cost preview: {cost.searches} searches, {cost.pages_to_crawl} pages, {cost.llm_tokens:,} LLM tokens "
        f"(${cost.llm_cost_usd:.2f}), about {cost.minutes:g} minutes"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Generate and print; errors go to stderr with exit code 1."""
    try:
        strategy = generate(args.goal, llm=None if args.heuristic else get_llm())
    except LeadScoutError as exc:
        return fail(str(exc))
    if args.json:
        print_json(strategy.model_dump(mode="json"))
    else:
        print(render_text(strategy))
    return 0
