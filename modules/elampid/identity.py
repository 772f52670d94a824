"""NIK and KK numbers: structural checks and masking.

A NIK is ``PP KK CC DDMMYY NNNN`` (16 digits): province, kabupaten/kota and kecamatan of first
registration, the birth date with DD + 40 for women, and a 4-digit serial (Dukcapil Klaten,
"Arti 16 digit NIK"; see ``shared/reference/indonesia-context.md`` §5.3). A KK number has the
same region prefix and its issue date as DDMMYY in digits 7-12, without the +40 rule.

The numbers reveal sex, birth date and birthplace: they are specific personal data (UU PDP).
``repr``/``str`` of :class:`Nik` and :class:`Kk` and every error message show at most the first
6 digits (the region), never the whole number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .errors import InvalidKk, InvalidNik

#: Province codes (Kemendagri / BPS "kode wilayah"). The reference notes do not list them, so
#: this is the documented national list: Sumatra 11-19 (Aceh .. Bangka Belitung), 21 Kepulauan
#: Riau, Java 31-36 (DKI .. Banten), 51-53 Bali/NTB/NTT, Kalimantan 61-65, Sulawesi 71-76,
#: 81-82 Maluku/Maluku Utara, and 91-97 for Papua: the 2022 split into six provinces is
#: numbered differently by Kemendagri (91-96) and BPS (91, 92, 94-97), and NIKs issued before
#: the split keep the old codes, so every code 91-97 is accepted.
PROVINCE_CODES: frozenset[str] = frozenset(
    f"{code:02d}"
    for code in (
        *range(11, 20),
        21,
        *range(31, 37),
        *range(51, 54),
        *range(61, 66),
        *range(71, 77),
        81,
        82,
        *range(91, 98),
    )
)

MASK = "*" * 10


def mask(number: str) -> str:
    """Mask an identity number for display: the first 6 digits (the region) and 10 stars.

    >>> mask("3578010101900001")
    '357801**********'
    """
    return number[:6] + MASK


def _is_digits(number: str, length: int) -> bool:
    return len(number) == length and number.isascii() and number.isdigit()


def _valid_ddmmyy(day: int, month: int, yy: int) -> bool:
    """Whether DD/MM/YY is a real date in 19YY or 20YY (the century is not encoded)."""
    for century in (1900, 2000):
        try:
            date(century + yy, month, day)
        except ValueError:
            continue
        return True
    return False


@dataclass(frozen=True, slots=True)
class Nik:
    """A structurally valid NIK. Build it with :func:`check_nik`; ``value`` is the full number."""

    value: str = field(repr=False)

    @property
    def province(self) -> str:
        return self.value[:2]

    @property
    def regency(self) -> str:
        return self.value[2:4]

    @property
    def district(self) -> str:
        return self.value[4:6]

    @property
    def female(self) -> bool:
        return int(self.value[6:8]) > 40

    @property
    def birth_day(self) -> int:
        day = int(self.value[6:8])
        return day - 40 if day > 40 else day

    @property
    def birth_month(self) -> int:
        return int(self.value[8:10])

    @property
    def birth_yy(self) -> int:
        return int(self.value[10:12])

    @property
    def serial(self) -> str:
        return self.value[12:]

    @property
    def masked(self) -> str:
        return mask(self.value)

    def __repr__(self) -> str:
        return f"Nik({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


@dataclass(frozen=True, slots=True)
class Kk:
    """A structurally valid family card (Kartu Keluarga) number. Build it with :func:`check_kk`."""

    value: str = field(repr=False)

    @property
    def masked(self) -> str:
        return mask(self.value)

    def __repr__(self) -> str:
        return f"Kk({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


def check_nik(nik: str, *, birth_date: date | None = None, female: bool | None = None) -> Nik:
    """Check a NIK's structure and, when known, its agreement with the holder's birth date and sex.

    Args:
        nik: the number as typed; no spaces or separators are stripped.
        birth_date: the holder's birth date, if known; day, month and year mod 100 must match.
        female: the holder's sex, if known; women's NIKs carry DD + 40.

    Returns:
        The :class:`Nik` value.

    Raises:
        InvalidNik: with ``reason`` one of ``length``, ``not_digits``, ``province``, ``regency``,
            ``district``, ``birth_date``, ``serial``, ``sex_mismatch``, ``birth_date_mismatch``.
    """
    if not isinstance(nik, str) or len(nik) != 16:
        raise InvalidNik("length")
    if not _is_digits(nik, 16):
        raise InvalidNik("not_digits")
    if nik[:2] not in PROVINCE_CODES:
        raise InvalidNik("province")
    if nik[2:4] == "00":
        raise InvalidNik("regency")
    if nik[4:6] == "00":
        raise InvalidNik("district")
    raw_day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    day = raw_day - 40 if raw_day > 40 else raw_day
    if not 1 <= raw_day <= 71 or not _valid_ddmmyy(day, month, yy):
        raise InvalidNik("birth_date")
    if nik[12:] == "0000":
        raise InvalidNik("serial")
    value = Nik(nik)
    if female is not None and value.female != female:
        raise InvalidNik("sex_mismatch")
    if birth_date is not None and (day, month, yy) != (birth_date.day, birth_date.month, birth_date.year % 100):
        raise InvalidNik("birth_date_mismatch")
    return value


def check_kk(kk: str) -> Kk:
    """Check a KK number: 16 digits, a real province, a regency other than 00, an issue date DDMMYY.

    Raises:
        InvalidKk: with ``reason`` one of ``length``, ``not_digits``, ``province``, ``regency``,
            ``issue_date``.
    """
    if not isinstance(kk, str) or len(kk) != 16:
        raise InvalidKk("length")
    if not _is_digits(kk, 16):
        raise InvalidKk("not_digits")
    if kk[:2] not in PROVINCE_CODES:  # also refuses all zeros
        raise InvalidKk("province")
    if kk[2:4] == "00":
        raise InvalidKk("regency")
    if not _valid_ddmmyy(int(kk[6:8]), int(kk[8:10]), int(kk[10:12])):
        raise InvalidKk("issue_date")
    return Kk(kk)
