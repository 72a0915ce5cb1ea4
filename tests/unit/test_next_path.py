"""Where the browser goes after signing in: a page of this app, never another host (no open redirect)."""

from __future__ import annotations

import pytest

from core.auth.cookies import next_path, safe_next


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/leads", "/leads"),
        ("/leads?leads_text=Bakery&lead=12", "/leads?leads_text=Bakery&lead=12"),
        ("/", "/"),
        ("", "/"),
        ("//evil.example/leads", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/leads/../../etc", "/"),
        ("javascript:alert(1)", "/"),
        ("/session/end", "/"),
    ],
)
def test_safe_next_keeps_only_pages_of_this_app(value, expected):
    assert safe_next(value) == expected


def test_next_path_takes_the_path_of_the_browsers_url():
    assert next_path("http://127.0.0.1:8501/leads", "leads_text=a") == "/leads?leads_text=a"
    assert next_path("http://127.0.0.1:8501/", "") == "/"
