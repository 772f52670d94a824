"""NIK and KK structural checks, sex/birth-date agreement, and masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from modules.elampid import PROVINCE_CODES, InvalidKk, InvalidNik, Nik, check_kk, check_nik, mask

from .support import FEMALE_NIK, KK, MALE_NIK


def test_valid_male_and_female_niks_decode() -> None:
    male = check_nik(MALE_NIK, birth_date=date(1990, 1, 1), female=False)
    assert (male.female, male.birth_day, male.birth_month, male.birth_yy) == (False, 1, 1, 90)
    assert (male.province, male.regency, male.district, male.serial) == ("35", "78", "01", "0001")
    female = check_nik(FEMALE_NIK, birth_date=date(1992, 2, 2), female=True)
    assert (female.female, female.birth_day, female.birth_month) == (True, 2, 2)
    assert female.value == FEMALE_NIK


@pytest.mark.parametrize(
    ("nik", "reason"),
    [
        ("357801010190001", "length"),
        ("35780101019000011", "length"),
        ("", "length"),
        ("35780101019O0001", "not_digits"),
        ("3578 10101900001", "not_digits"),
        ("357801010190000\u0661", "not_digits"),  # Arabic-Indic digit one: not ASCII
        ("0078010101900001", "province"),
        ("9978010101900001", "province"),
        ("2078010101900001", "province"),
        ("3500010101900001", "regency"),
        ("3578000101900001", "district"),
        ("3578013102900001", "birth_date"),  # 31 Feb
        ("3578017102900001", "birth_date"),  # 31 Feb, female
        ("3578010001900001", "birth_date"),  # day 00
        ("3578013501900001", "birth_date"),  # day 35: neither a man's nor a woman's day
        ("3578017201900001", "birth_date"),  # day 72 = 32 + 40
        ("3578014001900001", "birth_date"),  # day 40
        ("3578010113900001", "birth_date"),  # month 13
        ("3578010100900001", "birth_date"),  # month 00
        ("3578010101900000", "serial"),
    ],
)
def test_invalid_niks(nik: str, reason: str) -> None:
    with pytest.raises(InvalidNik) as info:
        check_nik(nik)
    assert info.value.reason == reason
    assert info.value.code == "invalid_nik"


def test_29_february_needs_a_leap_year_in_some_century() -> None:
    check_nik("3578012902000001")  # 2000 is a leap year
    check_nik("3578016902960001")  # 1996 / 2096, female
    with pytest.raises(InvalidNik, match="birth_date"):
        check_nik("3578012902010001")


def test_female_rule_and_sex_mismatch() -> None:
    with pytest.raises(InvalidNik) as info:
        check_nik(MALE_NIK, female=True)
    assert info.value.reason == "sex_mismatch"
    with pytest.raises(InvalidNik) as info:
        check_nik(FEMALE_NIK, female=False)
    assert info.value.reason == "sex_mismatch"


@pytest.mark.parametrize("born", [date(1990, 1, 2), date(1990, 2, 1), date(1991, 1, 1), date(2090, 1, 2)])
def test_mismatched_birth_date(born: date) -> None:
    with pytest.raises(InvalidNik) as info:
        check_nik(MALE_NIK, birth_date=born)
    assert info.value.reason == "birth_date_mismatch"


def test_birth_date_matches_modulo_century() -> None:
    check_nik(MALE_NIK, birth_date=date(1990, 1, 1))
    check_nik("3578010101100001", birth_date=date(2010, 1, 1))


def test_kk_checks() -> None:
    assert check_kk(KK).value == KK
    cases = {
        "357801150315000": "length",
        "35780115031500a3": "not_digits",
        "0000000000000000": "province",
        "9978011503150003": "province",
        "3500011503150003": "regency",
        "3578015503150003": "issue_date",  # no +40 rule for a KK
        "3578013102150003": "issue_date",
    }
    for number, reason in cases.items():
        with pytest.raises(InvalidKk) as info:
            check_kk(number)
        assert info.value.reason == reason, number
        assert info.value.code == "invalid_kk"


def test_masking_never_shows_the_full_number() -> None:
    nik, kk = check_nik(MALE_NIK), check_kk(KK)
    assert mask(MALE_NIK) == "357801**********"
    for text in (repr(nik), str(nik), nik.masked, repr(kk), str(kk), repr([nik, kk])):
        assert MALE_NIK not in text
        assert KK not in text
        assert MALE_NIK[6:] not in text
        assert KK[6:] not in text


def test_errors_never_contain_the_number() -> None:
    for bad in ("3578013102900001", "3578010101900000", "9978010101900001"):
        with pytest.raises(InvalidNik) as info:
            check_nik(bad)
        assert bad not in str(info.value)
        assert bad not in repr(info.value)
        assert bad[6:] not in str(info.value.params)


# --------------------------------------------------------------------------- Hypothesis round trips

provinces = st.sampled_from(sorted(PROVINCE_CODES))
two_digits_nonzero = st.integers(1, 99).map(lambda n: f"{n:02d}")
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
serials = st.integers(1, 9999).map(lambda n: f"{n:04d}")


@st.composite
def valid_niks(draw: st.DrawFn) -> tuple[str, date, bool]:
    born, female = draw(birth_dates), draw(st.booleans())
    day = born.day + (40 if female else 0)
    nik = (
        draw(provinces)
        + draw(two_digits_nonzero)
        + draw(two_digits_nonzero)
        + f"{day:02d}{born.month:02d}{born.year % 100:02d}"
        + draw(serials)
    )
    return nik, born, female


@given(valid_niks())
def test_generated_niks_pass_and_round_trip(case: tuple[str, date, bool]) -> None:
    nik, born, female = case
    value = check_nik(nik, birth_date=born, female=female)
    assert isinstance(value, Nik)
    assert value.female is female
    assert (value.birth_day, value.birth_month, value.birth_yy) == (born.day, born.month, born.year % 100)
    assert nik not in repr(value) and nik not in str(value)


BROKEN_PARTS = {
    "province": lambda n: "00" + n[2:],
    "regency": lambda n: n[:2] + "00" + n[4:],
    "district": lambda n: n[:4] + "00" + n[6:],
    "birth_date": lambda n: n[:8] + "13" + n[10:],
    "serial": lambda n: n[:12] + "0000",
}


@given(valid_niks(), st.sampled_from(sorted(BROKEN_PARTS)))
def test_breaking_one_part_fails_with_that_reason(case: tuple[str, date, bool], part: str) -> None:
    broken = BROKEN_PARTS[part](case[0])
    with pytest.raises(InvalidNik) as info:
        check_nik(broken)
    assert info.value.reason == part


@given(valid_niks())
def test_flipping_the_sex_fails(case: tuple[str, date, bool]) -> None:
    nik, _born, female = case
    with pytest.raises(InvalidNik, match="sex_mismatch"):
        check_nik(nik, female=not female)


@given(valid_niks(), st.integers(0, 15), st.sampled_from("aO -\u0661"))
def test_a_non_digit_anywhere_fails(case: tuple[str, date, bool], index: int, char: str) -> None:
    nik = case[0]
    with pytest.raises(InvalidNik, match="not_digits"):
        check_nik(nik[:index] + char + nik[index + 1 :])
