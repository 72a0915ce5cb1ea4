"""A fast path in front of ``phonenumbers`` for the phone column of a CSV import.

``fast_e164`` replays, for plain inputs only (ASCII digits, the separators `` -./()`` and at most one leading
'+'), the steps ``phonenumbers.parse`` + ``is_possible_number`` + ``format_number(E164)`` take, using the
library's own metadata compiled once per region. Anything else is declined (``None``) and the caller runs
phonenumbers itself. The steps mirrored, in ``phonenumberutil.py`` terms:

1. ``_build_national_number_for_parsing`` / ``_is_viable_phone_number`` / ``_maybe_strip_extension``: for the
   accepted alphabet these only drop the separators (no extension label can appear), so the input reduces to
   its digits; at least six digits are needed for any answer, which also makes it "viable".
2. ``_maybe_extract_country_code``: a leading '+', or the region's international (IDD) prefix, is followed by
   a country calling code; otherwise the region's own calling code may be written without '+'.
3. ``_maybe_strip_national_prefix_carrier_code``: the national prefix (and carrier code, and the rare
   transform rule) is stripped when the rest still has a possible length.
4. ``is_possible_number``: the length check against the calling code's main region, plus clean_phone's own
   "at least six significant digits" rule; then E.164 is '+', the calling code and the digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS, PhoneMetadata, region_code_for_country_code
from phonenumbers.phonenumberutil import ValidationResult

# The separators accepted (and dropped); '+' is handled on its own, anything else makes us decline.
_DROP_SEPARATORS = str.maketrans("", "", " -./()")
_MAX_INPUT_LENGTH = 250  # phonenumbers refuses longer input outright
_MIN_DIGITS = 6  # clean_phone wants at least six significant digits, so fewer can never pass
_MAX_DIGITS = 30  # well above prefix + calling code + the 17-digit NSN limit; longer input is declined
_MAX_NSN_LENGTH = 17  # phonenumbers' _MAX_LENGTH_FOR_NSN
_MAX_COUNTRY_CODE_LENGTH = 3
_LENGTH_TABLE_SIZE = 48  # possible-length verdicts are tabulated below this; every length above is TOO_LONG

_POSSIBLE = ValidationResult.IS_POSSIBLE
_LOCAL_ONLY = ValidationResult.IS_POSSIBLE_LOCAL_ONLY
_TOO_SHORT = ValidationResult.TOO_SHORT
_TOO_LONG = ValidationResult.TOO_LONG
_INVALID_LENGTH = ValidationResult.INVALID_LENGTH


@dataclass(frozen=True, slots=True)
class _Plan:
    """The parts of one region's PhoneMetadata that parsing needs, compiled once."""

    country_code: int
    country_code_digits: str
    international_prefix: re.Pattern[str] | None  # the IDD, e.g. 00 or 011
    national_prefix: re.Pattern[str] | None  # national_prefix_for_parsing, e.g. 0 or 1
    transform_rule: str | None  # national_prefix_transform_rule (a re.sub template)
    general: re.Pattern[str] | None  # general_desc.national_number_pattern
    length_verdicts: tuple[int, ...]  # _test_number_length's answer for each length below _LENGTH_TABLE_SIZE

    def length_verdict(self, length: int) -> int:
        """What phonenumbers' ``_test_number_length`` says about a number of this many digits."""
        return self.length_verdicts[length] if length < _LENGTH_TABLE_SIZE else _TOO_LONG

    def is_national_number(self, digits: str) -> bool:
        """``_match_national_number(digits, general_desc, False)``: the whole of digits fits the pattern."""
        return self.general is not None and self.general.fullmatch(digits) is not None


def _length_verdicts(possible: tuple[int, ...], local_only: tuple[int, ...]) -> tuple[int, ...]:
    """``_test_number_length`` for the general description, tabulated by length (same order of tests)."""
    verdicts = []
    for length in range(_LENGTH_TABLE_SIZE):
        if length in local_only:
            verdicts.append(_LOCAL_ONLY)
        elif length == possible[0]:
            verdicts.append(_POSSIBLE)
        elif length < possible[0]:
            verdicts.append(_TOO_SHORT)
        elif length > possible[-1]:
            verdicts.append(_TOO_LONG)
        elif length in possible[1:]:
            verdicts.append(_POSSIBLE)
        else:
            verdicts.append(_INVALID_LENGTH)
    return tuple(verdicts)


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _plan_for(metadata: PhoneMetadata | None) -> _Plan | None:
    """A plan for this metadata, or None when something in it is outside what the fast path replays."""
    if metadata is None or metadata.country_code is None or metadata.general_desc is None:
        return None
    possible = metadata.general_desc.possible_length
    local_only = metadata.general_desc.possible_length_local_only
    if not possible or max(possible + local_only) >= _LENGTH_TABLE_SIZE:
        return None
    national_prefix = _compiled(metadata.national_prefix_for_parsing)
    transform_rule = metadata.national_prefix_transform_rule or None
    if transform_rule is not None:
        # phonenumbers reads the last capture group before using the rule; with no group, or a template naming
        # a group that does not exist, it would fail with something other than a parse error: not ours to mimic
        if national_prefix is None or national_prefix.groups == 0:
            return None
        try:
            national_prefix.sub(transform_rule, "", count=1)  # re checks the template even without a match
        except (re.error, IndexError):
            return None
    return _Plan(
        country_code=metadata.country_code,
        country_code_digits=str(metadata.country_code),
        international_prefix=_compiled(metadata.international_prefix),
        national_prefix=national_prefix,
        transform_rule=transform_rule,
        general=_compiled(metadata.general_desc.national_number_pattern),
        length_verdicts=_length_verdicts(possible, local_only),
    )


@lru_cache(maxsize=512)
def _calling_code_plan(country_code: int) -> _Plan | None:
    """The plan of the main region of a calling code (US for 1, GB for 44, the non-geographic entity for 800)."""
    main_region = region_code_for_country_code(country_code)
    return _plan_for(PhoneMetadata.metadata_for_region_or_calling_code(country_code, main_region))


@lru_cache(maxsize=512)
def _region_plans(region: str) -> tuple[_Plan, _Plan] | None:
    """(the region's own plan, the plan of its calling code's main region), or None for an unknown region."""
    region = region.upper()
    if region not in SUPPORTED_REGIONS:
        return None
    own = _plan_for(PhoneMetadata.metadata_for_region(region, None))
    if own is None:
        return None
    main = _calling_code_plan(own.country_code)
    return None if main is None else (own, main)


def _strip_national_prefix(number: str, plan: _Plan) -> str:
    """The number after ``_maybe_strip_national_prefix_carrier_code`` (the carrier code itself is not needed)."""
    if not number or plan.national_prefix is None:
        return number
    match = plan.national_prefix.match(number)
    if match is None:
        return number
    if plan.transform_rule is None or match.groups()[-1] is None:
        rest = number[match.end() :]
    else:
        rest = plan.national_prefix.sub(plan.transform_rule, number, count=1)
    # keep the prefix when it turns a number that fits the pattern into one that does not
    if plan.is_national_number(number) and not plan.is_national_number(rest):
        return number
    return rest


def _finish(country_code: int, number: str, plan: _Plan, main: _Plan) -> str | None:
    """The end of ``parse`` (national prefix, length limits) then ``is_possible_number`` and E.164."""
    if len(number) < 2:
        return None
    stripped = _strip_national_prefix(number, plan)
    if plan.length_verdict(len(stripped)) in (_POSSIBLE, _TOO_LONG):  # parse keeps the stripped form then
        number = stripped
    if len(number) > _MAX_NSN_LENGTH or main.length_verdict(len(number)) not in (_POSSIBLE, _LOCAL_ONLY):
        return None
    if len(number.lstrip("0")) < _MIN_DIGITS:  # clean_phone: len(str(national_number)) < 6
        return None
    # national_significant_number() puts the leading zeros back (Italian leading zero), so the digits are kept
    return f"+{country_code}{number}"


def _after_international_prefix(digits: str) -> str | None:
    """Digits that followed a '+' or an IDD: a calling code, then the national number."""
    if len(digits) <= 2 or digits[0] == "0":
        return None  # too short after the IDD, or no calling code (parse may then retry without the '+')
    for size in range(1, _MAX_COUNTRY_CODE_LENGTH + 1):
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            plan = _calling_code_plan(country_code)
            return None if plan is None else _finish(country_code, digits[size:], plan, plan)
    return None


def _from_region(digits: str, own: _Plan, main: _Plan) -> str | None:
    """Digits written without '+', read in the region the import defaults to."""
    if own.international_prefix is not None:
        match = own.international_prefix.match(digits)
        # an IDD followed by 0 is not taken as one (calling codes never start with 0)
        if match is not None and digits[match.end() : match.end() + 1] != "0":
            return _after_international_prefix(digits[match.end() :])
    if digits.startswith(own.country_code_digits):
        # the region's own calling code without '+' ("44 20 7946 0001" in GB): taken as one when the number
        # does not fit as it stands but does without it, or when it is too long as it stands
        without = _strip_national_prefix(digits[len(own.country_code_digits) :], own)
        if own.length_verdict(len(digits)) == _TOO_LONG or (
            not own.is_national_number(digits) and own.is_national_number(without)
        ):
            return _finish(own.country_code, without, main, main)
    return _finish(own.country_code, digits, own, main)


def fast_e164(raw: str, region: str) -> str | None:
    """The E.164 form of ``raw`` exactly as ``csv_rows.clean_phone`` gets it from phonenumbers, or None when
    this fast path cannot be sure (the caller then runs phonenumbers itself). Never raises."""
    if len(raw) > _MAX_INPUT_LENGTH:
        return None
    digits = raw.translate(_DROP_SEPARATORS)
    international = digits.startswith("+")  # a '+' with nothing but separators before it
    if international:
        digits = digits[1:]
    # letters, extensions, a second '+', non-ASCII digits, stray symbols: all left behind, all declined
    if not (digits.isascii() and digits.isdigit()) or not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return None
    if international:
        return _after_international_prefix(digits)  # after a '+', the default region plays no part
    plans = _region_plans(region)
    return None if plans is None else _from_region(digits, *plans)
