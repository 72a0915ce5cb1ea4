"""Templates rendered in Jinja2's immutable sandbox with strict undefined variables.

Only the template's own source is ever compiled. Lead data and LLM output enter as plain
values in the context, so ``{{ ... }}`` inside a company name is printed, never run.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError

from core.errors import InvalidInput
from core.outreach import sandbox
from core.outreach.models import Rendered, Segments

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = sandbox.MAX_OUTPUT_CHARS
FIELDS = (
    "company",
    "website",
    "domain",
    "industry",
    "location",
    "country",
    "summary",
    "first_name",
    "contact_name",
    "contact_title",
    "contact_first_name",
    "contact_last_name",
    "contact_role",
    "hook",
    "technologies",
    "sender_name",
)

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


_ENV = sandbox.ENVIRONMENT
# {{ contact.first_name }} reads the flat field contact_first_name; {{ contact }} alone prints the name
CONTACT_ATTRIBUTES = {
    "name": "contact_name",
    "first_name": "contact_first_name",
    "last_name": "contact_last_name",
    "title": "contact_title",
    "role": "contact_role",
}


class ContactValues(dict[str, str]):
    """The addressed person as ``contact.*`` in a template (plain strings; printing it prints the name)."""

    def __str__(self) -> str:
        if not self.get("name"):  # like any other empty field: the lead is missing it, not "Dear ,"
            raise UndefinedError("'contact' has no name for this lead")
        return self["name"]


def _contact_fields(tree: nodes.Template) -> set[str]:
    """The flat fields behind ``contact.x`` / ``contact['x']`` (and ``contact`` alone: its name)."""
    used: set[str] = set()
    attributed: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        if isinstance(target, nodes.Name) and target.name == "contact":
            key = getattr(node, "attr", None) or getattr(getattr(node, "arg", None), "value", None)
            attributed.add(id(target))
            used.add(CONTACT_ATTRIBUTES.get(str(key), f"contact_{key}"))
    for name in tree.find_all(nodes.Name):
        if name.name == "contact" and id(name) not in attributed and name.ctx == "load":
            used.add("contact_name")
    return used


def refuse_line_breaks(label: str, value: str) -> str:
    """Return ``value`` unless it holds CR or LF (header injection); then raise ``InvalidInput``."""
    if "\r" in value or "\n" in value:
        raise InvalidInput(f"The {label} must be a single line (it contains a line break).")
    return value


def check_template(*, subject: str, body: str) -> None:
    """Raise ``InvalidInput`` when a template is too long, does not parse, or its subject has a line break."""
    refuse_line_breaks("subject", subject)
    for label, source in (("subject", subject), ("body", body)):
        if len(source) > MAX_TEMPLATE_CHARS:
            raise InvalidInput(f"The template {label} is longer than {MAX_TEMPLATE_CHARS} characters.")
        try:
            _ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise InvalidInput(f"The template {label} has a syntax error on line {exc.lineno}: {exc.message}") from exc


def referenced_fields(source: str) -> set[str]:
    """The variable names a template source uses."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidInput(f"The template has a syntax error on line {exc.lineno}: {exc.message}") from exc
    names = set(meta.find_undeclared_variables(tree))
    if "contact" in names:
        names = (names - {"contact"}) | _contact_fields(tree)
    return names


def missing_fields(*, subject: str, body: str, values: Mapping[str, str]) -> tuple[str, ...]:
    """Fields the template uses that are empty for this lead (and have no ``default``)."""
    used = referenced_fields(subject) | referenced_fields(body)
    absent = sorted(name for name in used if not values.get(name))
    if not absent:
        return ()
    try:  # a field used only where the template guards it ({% if contact.first_name is defined %}) is not missing
        render(subject=subject, body=body, values=values)
        return ()
    except InvalidInput:
        pass
    missing = []
    for name in absent:  # a field is missing when rendering fails with only it left empty
        trial = {**values, **{other: "x" for other in absent if other != name}}
        try:
            render(subject=subject, body=body, values=trial)
        except InvalidInput:
            missing.append(name)
    return tuple(missing)


def _render_one(label: str, source: str, context: Mapping[str, object]) -> str:
    try:
        output = sandbox.render_bounded(source, context)
    except sandbox.TemplateTooCostly as exc:
        raise InvalidInput(f"The template {label} asks for too much to render: {exc}.") from exc
    except RecursionError as exc:
        raise InvalidInput(f"The template {label} calls itself too deeply to render.") from exc
    except MemoryError as exc:
        raise InvalidInput(f"The template {label} needs more memory than a render may use.") from exc
    except UndefinedError as exc:
        raise InvalidInput(f"The template {label} uses a field this lead does not have ({exc.message}).") from exc
    except SecurityError as exc:
        raise InvalidInput(f"The template {label} tried something templates may not do ({exc}).") from exc
    except TemplateError as exc:
        raise InvalidInput(f"The template {label} could not be rendered: {exc}") from exc
    except (TypeError, ValueError, ArithmeticError, OverflowError) as exc:
        raise InvalidInput(f"The template {label} could not be rendered: {exc}") from exc
    if len(output) > MAX_OUTPUT_CHARS:
        raise InvalidInput(f"The rendered {label} is longer than {MAX_OUTPUT_CHARS} characters.")
    return output


def render(*, subject: str, body: str, values: Mapping[str, str]) -> Rendered:
    """Render subject and body with ``values``; empty values count as missing."""
    context: dict[str, object] = {name: value for name, value in values.items() if value}
    context["contact"] = ContactValues(
        {attribute: values[field] for attribute, field in CONTACT_ATTRIBUTES.items() if values.get(field)}
    )
    rendered_subject = (
        refuse_line_breaks("subject", _render_one("subject", subject, context)).strip() if subject else ""
    )
    return Rendered(subject=rendered_subject, body=_render_one("body", body, context).strip())


def email_footer(*, postal_address: str, unsubscribe_url: str) -> str:
    """The footer every email carries: the sender's postal address and the unsubscribe link."""
    return f"\n\n--\n{postal_address.strip()}\nUnsubscribe: {unsubscribe_url}\n"


def sms_segments(text: str) -> Segments:
    """Encoding and segment count of an SMS body (GSM-7 160/153, else UCS-2 70/67)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 0 if units == 0 else 1 if units <= single else -(-units // multi)
    return Segments(encoding=encoding, characters=units, segments=count)
