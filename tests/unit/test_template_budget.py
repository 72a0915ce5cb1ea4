"""Hostile templates end as InvalidInput quickly instead of exhausting memory, CPU or the stack.

Each of these ran out of memory, never returned or raised RecursionError before templates
rendered under a budget (issue 19, item 4). The timeout marks make a hang fail the test.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.outreach import templates

VALUES = {"company": "Acme", "first_name": "Ada", "summary": "We bake bread."}

HOSTILE = {
    "center_literal": "{{ 'a'|center(2000000000) }}",
    "center_field": "{{ company|center(2000000000) }}",
    "center_method": "{{ company.center(2000000000) }}",
    "ljust_method": "{{ company.ljust(900000000) }}",
    "percent_format_filter": "{{ '%1000000000s'|format(company) }}",
    "percent_operator": "{{ '%1000000000s' % company }}",
    "percent_precision": "{{ '%.1000000000f' % 1.5 }}",
    "brace_format": "{{ '{:>1000000000}'.format(company) }}",
    "indent": "{{ ((company ~ '\n') * 5000)|indent(400000) }}",
    "replace_amplifies": "{{ ('x' * 50000)|replace('x', 'y' * 50000) }}",
    "replace_method_amplifies": "{{ ('x' * 50000).replace('x', 'y' * 50000) }}",
    "join_separator": "{{ range(100000)|join('x' * 50000) }}",
    "nested_range_loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "nested_string_loops": ("{% set s = 'x' * 50000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"),
    "loop_of_big_output": "{% set s = 'x' * 50000 %}{% for i in range(99999) %}{{ s }}{% endfor %}",
    "loop_of_literal_text": "{% for i in range(99999) %}" + "y" * 19000 + "{% endfor %}",
    "concat_doubling": ("{% set a = 'x' * 40000 %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{{ d }}"),
    "macro_doubling": (
        "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s }}{% endif %}{% endmacro %}{{ d('x', 60) }}"
    ),
    "exponential_macro": ("{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}"),
    "recursive_macro": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "huge_power": "{{ (((9 ** 100) ** 100) ** 100) ** 100 }}",
    "sum_of_lists": "{{ ([[1] * 50000] * 50000)|sum(start=[])|length }}",
    "printed_nested_list": "{{ [[1] * 50000] * 50000 }}",
}


@pytest.mark.timeout(20, method="thread")  # a hang inside C code fails too
@pytest.mark.parametrize("source", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_template_is_refused_as_invalid_input(source):
    with pytest.raises(InvalidInput, match="template body"):
        templates.render(subject="", body=source, values=VALUES)


@pytest.mark.timeout(20, method="thread")  # a hang inside C code fails too
def test_hostile_subject_is_refused_too():
    with pytest.raises(InvalidInput, match="template subject"):
        templates.render(subject="{{ company|center(2000000000) }}", body="x", values=VALUES)


@pytest.mark.timeout(20, method="thread")  # a hang inside C code fails too
def test_missing_fields_returns_for_a_recursive_template():
    body = "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}{{ first_name }}"
    # the trial render fails cleanly (it raised RecursionError before), so the field is listed
    assert templates.missing_fields(subject="", body=body, values={**VALUES, "first_name": ""}) == ("first_name",)


def test_normal_templates_still_render():
    body = (
        "Hi {{ first_name|default('there') }},\n\n"
        "{% for word in summary.split() %}{{ loop.index }}:{{ word|upper }} {% endfor %}\n"
        "{{ '%-8s|'|format(company) }}{{ '{:>6}'.format(company) }} {{ company|center(10) }}\n"
        "{% set ns = namespace(n=0) %}{% for i in range(1000) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}\n"
        "{{ ['a', 'b', 'c']|join(', ') }} {{ company ~ '!' }} {{ 2 ** 10 }} {{ 'ab' * 3 }}"
        "{% macro greet(n) %}{{ n|title }}{% endmacro %} {{ greet('ada lovelace') }}\n"
        "{{ ('-' * 40)|indent(2, first=true) }}"
    )
    out = templates.render(subject="Hello {{ company }}", body=body, values=VALUES)
    assert out.subject == "Hello Acme"
    assert out.body.splitlines() == [
        "Hi Ada,",
        "",
        "1:WE 2:BAKE 3:BREAD. ",
        "Acme    |  Acme    Acme   ",
        "499500",
        "a, b, c Acme! 1024 ababab Ada Lovelace",
        "  " + "-" * 40,
    ]


def test_a_long_but_reasonable_template_renders():
    body = "{% for i in range(2000) %}{{ company }} {{ i }}\n{% endfor %}"
    out = templates.render(subject="", body=body, values=VALUES)
    assert out.body.count("Acme") == 2000
