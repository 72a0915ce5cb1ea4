"""The queue self-test: a job that counts with a pause per step, proving workers are alive."""

from __future__ import annotations

from typing import Any

from core.background.context import JobContext


def selftest(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Count to ``steps`` with a pause per step; fail on request. Proves workers are alive."""
    steps = int(args.get("steps", 10))
    pause = float(args.get("pause", 0.2))
    fail_with = args.get("fail_with")
    for step in range(steps):
        ctx.progress(step, steps, f"Step {step + 1} of {steps}")
        ctx.sleep(pause)
    if fail_with:
        raise RuntimeError(str(fail_with))
    ctx.progress(steps, steps, "Done")
    return {"steps": steps}
