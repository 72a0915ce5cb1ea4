"""The base of every request body: unknown fields and loosely typed values are refused, not guessed at.

Without it pydantic took ``"clear_owner": 0`` as ``false`` and ``"5"`` as ``5``, and ignored a misspelt
field, so a client's mistake changed data silently while the OpenAPI document called the request invalid
(Schemathesis found it). ``strict`` keeps JSON's own types; ``extra="forbid"`` makes the document say
``additionalProperties: false`` and the API answer 422 for a field it does not know. ``JsonId`` is an
integer as JSON Schema defines one, so ``5.0`` is still 5 (strict pydantic alone refused it).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _integral(value: Any) -> Any:
    """A float with no fractional part as the int it is (JSON Schema's ``integer`` includes ``5.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL = BeforeValidator(_integral)


# An id in a request: an integer as JSON Schema says (5.0 too), within PostgreSQL's 32-bit id columns (a larger
# one raised "integer out of range", a 500). The constraints come before the validator: after it pydantic
# leaves them out of the document.
JsonId = Annotated[int, Field(ge=1, le=2**31 - 1), INTEGRAL]


class Input(BaseModel):
    """A request body."""

    model_config = ConfigDict(extra="forbid", strict=True)
