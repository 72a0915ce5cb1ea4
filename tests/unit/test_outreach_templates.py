"""Templates are sandboxed and strict; line breaks in headers are refused; SMS segments counted."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.outreach import templates, unsubscribe
from core.outreach.channels.base import build_email
from core.outreach.models import OutgoingMessage

INJECTIONS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ request.application.__globals__ }}",
    "{{ config.items() }}",
    "{% set x = [].append(1) %}",
    "{{ 'a' * 100000000 }}",
    "{{ 9 ** 999999 }}",
    "{% for i in range(10**9) %}{% endfor %}",
    "{{ company.__class__.__base__.__subclasses__() }}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
]


@pytest.mark.parametrize("source", INJECTIONS)
def test_injection_payloads_fail_safely(source):
    with pytest.raises(InvalidInput):
        templates.render(subject="", body=source, values={"company": "Acme"})


def test_lead_data_is_a_value_never_template_source():
    out = templates.render(
        subject="Hi {{ company }}",
        body="{{ company }}",
        values={"company": "{{ ''.__class__.__mro__ }}{% for x in range(9) %}"},
    )
    assert out.body == "{{ ''.__class__.__mro__ }}{% for x in range(9) %}"


def test_missing_fields_are_listed_and_strict():
    values = {"company": "Acme", "first_name": ""}
    assert templates.missing_fields(
        subject="Hi {{ first_name }}", body="{{ company }} {{ hook|default('x') }}", values=values
    ) == ("first_name",)
    with pytest.raises(InvalidInput, match="first_name"):
        templates.render(subject="Hi {{ first_name }}", body="x", values=values)


@pytest.mark.parametrize("bad", ["Hello\r\nBcc: victim@example.com", "Hello\nthere", "Hi\r"])
def test_line_breaks_in_subject_are_refused(bad):
    with pytest.raises(InvalidInput, match="single line"):
        templates.check_template(subject=bad, body="x")
    with pytest.raises(InvalidInput, match="single line"):
        templates.render(subject="{{ company }}", body="x", values={"company": bad})


@pytest.mark.parametrize("field", ["to_name", "to_address", "from_name", "from_address", "subject"])
def test_line_breaks_in_names_and_addresses_are_refused(field):
    values = dict(
        message_id=1,
        workspace_id=1,
        channel="email",
        to_address="a@example.test",
        to_name="Ada",
        from_address="s@example.test",
        from_name="Sam",
        subject="Hi",
        body="Body",
    )
    values[field] = values[field] + "\r\nBcc: victim@example.com"
    with pytest.raises(InvalidInput, match="single line"):
        build_email(OutgoingMessage(**values))


def test_sms_segments_gsm7_and_ucs2():
    assert templates.sms_segments("a" * 160) == templates.Segments("GSM-7", 160, 1)
    assert templates.sms_segments("a" * 161).segments == 2
    assert templates.sms_segments("a" * 159 + "€").characters == 161  # extension characters count twice
    assert templates.sms_segments("Grüße 😀").encoding == "UCS-2"
    assert templates.sms_segments("ç" * 71).segments == 2
    assert templates.sms_segments("").segments == 0


def test_unsubscribe_tokens_are_signed():
    token = unsubscribe.make_token(workspace_id=7, channel="email", address="a@example.test", secret="k" * 40)
    target = unsubscribe.read_token(token, secret="k" * 40)
    assert (target.workspace_id, target.channel, target.address) == (7, "email", "a@example.test")
    with pytest.raises(InvalidInput):
        unsubscribe.read_token(token, secret="other" * 10)
    payload, signature = token.split(".")
    forged = unsubscribe.make_token(workspace_id=8, channel="email", address="a@example.test", secret="x" * 40)
    with pytest.raises(InvalidInput):
        unsubscribe.read_token(forged.split(".")[0] + "." + signature, secret="k" * 40)
