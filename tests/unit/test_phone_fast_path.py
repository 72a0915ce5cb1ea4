"""The phone fast path gives exactly phonenumbers' answer, or declines (None) and lets phonenumbers answer."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import _test_number_length

from core.leads.csv_phones import _LENGTH_TABLE_SIZE, _region_plans, fast_e164

REGIONS = "GB US CA DE FR ES IT NL IE AU NZ IN BR JP CH AT BE SE NO DK PL PT MX ZA SG".split()
ALL_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
CALLING_CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)
NUMBER_TYPES = [value for name, value in vars(PhoneNumberType).items() if name.isupper()]
FORMATS = {
    "NATIONAL": PhoneNumberFormat.NATIONAL,
    "INTERNATIONAL": PhoneNumberFormat.INTERNATIONAL,
    "E164": PhoneNumberFormat.E164,
}
SEPARATORS = [" ", " ", "-", ".", "(", ")", "/", " (", ") ", "  "]


def reference_e164(raw: str, region: str) -> str:
    """clean_phone's body from core/leads/csv_rows.py, without its cache and without the fast path."""
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone '{raw[:40]}' is not a phone number ({exc})") from exc
    if not phonenumbers.is_possible_number(number) or len(str(number.national_number)) < 6:
        raise ValueError(f"phone '{raw[:40]}' has the wrong number of digits for {region.upper() or 'its country'}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def assert_agrees(raw: str, region: str) -> str | None:
    """fast_e164 answers as phonenumbers does, or declines; returns its answer."""
    fast = fast_e164(raw, region)
    try:
        expected = reference_e164(raw, region)
    except ValueError:
        assert fast is None, f"{raw!r} in {region!r}: fast path says {fast}, phonenumbers rejects it"
        return fast
    assert fast is None or fast == expected, f"{raw!r} in {region!r}: fast path {fast}, phonenumbers {expected}"
    return fast


def example_numbers(regions: list[str]) -> list[tuple[str, str, str]]:
    """(region, format name, formatted example) for every type of number phonenumbers has an example of."""
    examples = []
    for region in regions:
        for number_type in NUMBER_TYPES:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                examples += [(region, name, phonenumbers.format_number(example, fmt)) for name, fmt in FORMATS.items()]
    return examples


def digits_prefixes(region: str) -> list[str]:
    """The ways a number is commonly started in this region: national prefix, IDD, calling codes."""
    metadata = PhoneMetadata.metadata_for_region(region)
    assert metadata is not None and metadata.country_code is not None
    own = str(metadata.country_code)
    idds = [p for p in (metadata.preferred_international_prefix, metadata.international_prefix) if p and p.isdigit()]
    idd = idds[0] if idds else "00"
    return [
        "",
        "",
        metadata.national_prefix or "0",
        f"+{own}",
        own,
        f"{idd}{own}",
        f"00{own}",
        f"+{own}0",
        f"{metadata.national_prefix or '0'}{own}",
    ]


def example_nsns(region: str) -> list[str]:
    """The national significant numbers of the region's examples (every type it has one for)."""
    examples = (phonenumbers.example_number_for_type(region, number_type) for number_type in NUMBER_TYPES)
    return [phonenumbers.national_significant_number(example) for example in examples if example is not None]


# Strategies are built once here: building them inside the composite costs hypothesis more than the test itself.
PREFIX_CHOICES = {
    region: st.one_of(
        st.sampled_from(digits_prefixes(region)),
        st.sampled_from(CALLING_CODES).map(lambda code: f"+{code}"),  # often a wrong one
        st.text(alphabet="0123456789", min_size=1, max_size=3).map(lambda code: f"+{code}"),
    )
    for region in ALL_REGIONS
}
EXAMPLE_NSNS = {region: st.sampled_from(example_nsns(region) or ["0"]) for region in ALL_REGIONS}
RANDOM_DIGITS = st.text(alphabet="0123456789", min_size=2, max_size=20)
TAIL_DIGITS = st.text(alphabet="0123456789", max_size=4)
CUTS = st.integers(min_value=0, max_value=20)
INSERTIONS = st.lists(st.tuples(st.integers(min_value=0, max_value=64), st.sampled_from(SEPARATORS)), max_size=6)


@st.composite
def written_numbers(draw: st.DrawFn, regions: list[str]) -> tuple[str, str]:
    """A phone number as a person might type it into a CSV, and the import's default region."""
    region = draw(st.sampled_from(regions))
    prefix = draw(PREFIX_CHOICES[region])
    if draw(st.booleans()):
        body = draw(RANDOM_DIGITS)
    else:  # near the real number plan: an example with its tail cut, and maybe other digits put on
        body = draw(EXAMPLE_NSNS[region])[: draw(CUTS)] + draw(TAIL_DIGITS)
    text = prefix + body
    # separators dropped in at random places, the ends included (inserting from the back keeps places valid)
    for place, separator in sorted(draw(INSERTIONS), reverse=True):
        place = min(place, len(text))
        text = text[:place] + separator + text[place:]
    return text, draw(st.sampled_from([region, region, region, region.lower()]))


@settings(max_examples=3000, deadline=None)
@given(written_numbers(REGIONS))
def test_fast_path_agrees_with_phonenumbers(case: tuple[str, str]) -> None:
    assert_agrees(*case)


@settings(max_examples=1500, deadline=None)
@given(written_numbers(ALL_REGIONS))
def test_fast_path_agrees_with_phonenumbers_in_every_region(case: tuple[str, str]) -> None:
    assert_agrees(*case)


@settings(max_examples=1500, deadline=None)
@given(
    st.text(alphabet="0123456789+ -.()/xX#;,extnEXTabc٣１\u00a0\t", max_size=24),
    st.sampled_from([*REGIONS, "", "ZZ", "001", "gb", "XK"]),
)
def test_fast_path_agrees_on_arbitrary_text(raw: str, region: str) -> None:
    assert_agrees(raw, region)


@pytest.mark.parametrize(("region", "format_name", "raw"), example_numbers(REGIONS))
def test_fast_path_agrees_on_example_numbers(region: str, format_name: str, raw: str) -> None:
    assert_agrees(raw, region)


@pytest.mark.parametrize(
    ("region", "format_name", "raw"), [case for case in example_numbers(["GB", "US", "DE", "FR"]) if case[1] != "E164"]
)
def test_fast_path_answers_the_common_shapes(region: str, format_name: str, raw: str) -> None:
    assert assert_agrees(raw, region) == reference_e164(raw, region)  # not None: the path is really taken


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("020 7946 0001", "GB", "+442079460001"),
        ("01632 960123", "GB", "+441632960123"),
        ("(415) 555-0132", "US", "+14155550132"),
        ("415-555-0132", "us", "+14155550132"),
        ("415.555.0132", "US", "+14155550132"),
        ("030 1234567", "DE", "+49301234567"),
        ("030/1234567", "DE", "+49301234567"),
        ("+44 20 7946 0001", "GB", "+442079460001"),
        ("+44 (0)20 7946 0001", "GB", "+442079460001"),
        ("+1 415 555 0132", "US", "+14155550132"),
        ("+1 415 555 0132", "", "+14155550132"),
        ("0044 20 7946 0001", "GB", "+442079460001"),
        ("011 44 20 7946 0001", "US", "+442079460001"),
        ("06 1234 5678", "IT", "+390612345678"),  # Italian leading zero kept
    ],
)
def test_fast_path_answers(raw: str, region: str, e164: str) -> None:
    assert fast_e164(raw, region) == e164 == reference_e164(raw, region)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "---",
        "(.) -",
        "+",
        "++44 20 7946 0001",
        "20 7946 0001+",
        "020 7946 0001 ext 12",
        "020 7946 0001 ext. 12",
        "020 7946 0001 x12",
        "020 7946 0001#12",
        "020 7946 0001;ext=12",
        "tel:+44-20-7946-0001",
        "0800 FLOWERS",
        "Tel: 020 7946 0001",
        "020 7946 0001 (office)",
        "٠٢٠٧٩٤٦٠٠٠١",
        "０２０ ７９４６ ０００１",
        "020\u00a07946\u00a00001",
        "020\t7946 0001",
        "020 7946 0001\n",
        "020 7946 00012345678901234567890123",
    ],
)
def test_fast_path_declines_other_shapes(raw: str) -> None:
    assert fast_e164(raw, "GB") is None


def test_fast_path_declines_national_numbers_without_a_known_region() -> None:
    for region in ("", "ZZ", "001", "XX"):
        assert fast_e164("020 7946 0001", region) is None


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_length_table_matches_phonenumbers(region: str) -> None:
    plans = _region_plans(region)
    metadata = PhoneMetadata.metadata_for_region(region)
    if plans is None:  # a region the fast path leaves to phonenumbers: it must then decline everything there
        assert fast_e164("020 7946 0001", region) is None
        return
    own, _ = plans
    assert metadata is not None
    for length in range(_LENGTH_TABLE_SIZE + 5):
        assert own.length_verdict(length) == _test_number_length("5" * length, metadata)
