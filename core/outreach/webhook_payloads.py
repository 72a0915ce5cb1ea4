"""Reading a verified webhook's JSON defensively: a signed body can still be odd, and odd is a 400, not a crash."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.errors import InvalidInput

MAX_ID_LENGTH = 200  # provider ids are stored in 255-character columns with a prefix
MAX_TEXT_LENGTH = 2000
MAX_MESSAGE_ID = 2**63 - 1  # our ids are BIGINT-sized at most


def parse_json(body: bytes, *, what: str) -> Any:
    """The JSON in ``body``; ``InvalidInput`` naming ``what`` when it is not JSON or nests too deeply."""
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise InvalidInput(f"The {what} is nested too deeply to read.") from exc
    except ValueError as exc:  # also a body that is not UTF-8
        raise InvalidInput(f"The {what} is not JSON.") from exc


def json_object(value: Any, *, name: str, where: str = "") -> Mapping[str, Any]:
    """``value`` when it is a JSON object, ``{}`` when absent; ``InvalidInput`` otherwise."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}'{name}' is not a JSON object.")
    return value


def single_value(data: Mapping[str, Any], key: str, *, where: str = "", max_length: int = MAX_TEXT_LENGTH) -> str:
    """``data[key]`` as text ('' when absent); ``InvalidInput`` for a list, an object or an over-long value."""
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, (Mapping, list)):
        raise InvalidInput(f"{where}'{key}' is not a single value.")
    text = str(value)
    if len(text) > max_length:
        raise InvalidInput(f"{where}'{key}' is longer than {max_length} characters.")
    return text


def message_id(value: str) -> int | None:
    """Our message id from a provider's custom variable, or None when it cannot be one."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= MAX_MESSAGE_ID else None
