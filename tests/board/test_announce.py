"""Indonesian call announcements: number words, letter names, counter names, the whole call."""

from __future__ import annotations

import pytest

from display_board.announce import (
    LETTER_NAMES,
    NUMBER_WORDS,
    announcement,
    letter_words,
    name_text,
    name_words,
    number_words,
    vocabulary,
)


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "nol"),
        (1, "satu"),
        (2, "dua"),
        (7, "tujuh"),
        (9, "sembilan"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (15, "lima belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (21, "dua puluh satu"),
        (40, "empat puluh"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (101, "seratus satu"),
        (105, "seratus lima"),
        (110, "seratus sepuluh"),
        (111, "seratus sebelas"),
        (115, "seratus lima belas"),
        (120, "seratus dua puluh"),
        (200, "dua ratus"),
        (250, "dua ratus lima puluh"),
        (311, "tiga ratus sebelas"),
        (999, "sembilan ratus sembilan puluh sembilan"),
        (1000, "seribu"),
        (1001, "seribu satu"),
        (1012, "seribu dua belas"),
        (1100, "seribu seratus"),
        (1234, "seribu dua ratus tiga puluh empat"),
        (2000, "dua ribu"),
        (9999, "sembilan ribu sembilan ratus sembilan puluh sembilan"),
        (10_000, "sepuluh ribu"),
        (11_000, "sebelas ribu"),
        (100_000, "seratus ribu"),
        (115_215, "seratus lima belas ribu dua ratus lima belas"),
        (1_000_000, "satu juta"),
        (2_500_000, "dua juta lima ratus ribu"),
        (1_001_001, "satu juta seribu satu"),
        (
            999_999_999,
            "sembilan ratus sembilan puluh sembilan juta sembilan ratus sembilan puluh sembilan ribu "
            "sembilan ratus sembilan puluh sembilan",
        ),
    ],
)
def test_number_words(n: int, spoken: str) -> None:
    """Whole numbers are read in Indonesian words, with se- for one ten, eleven, hundred, thousand."""
    assert " ".join(number_words(n)) == spoken


def test_numbers_past_a_billion_are_read_digit_by_digit() -> None:
    """No ticket gets there; if something does, it is still read, one digit at a time."""
    assert number_words(1_000_000_000) == ["satu", "nol", "nol", "nol", "nol", "nol", "nol", "nol", "nol", "nol"]


def test_negative_numbers_are_refused() -> None:
    """A ticket number is never negative."""
    with pytest.raises(ValueError):
        number_words(-1)


def test_every_number_word_is_a_known_word() -> None:
    """The clip set for numbers is closed: no number needs a word outside NUMBER_WORDS."""
    used = {w for n in range(0, 20_000) for w in number_words(n)}
    used |= {w for n in range(0, 10**9, 7_654_321) for w in number_words(n)}
    assert used <= NUMBER_WORDS


@pytest.mark.parametrize(
    ("letters", "spoken"),
    [
        ("A", ["a"]),
        ("B", ["be"]),
        ("C", ["ce"]),
        ("E", ["e"]),
        ("F", ["ef"]),
        ("H", ["ha"]),
        ("K", ["ka"]),
        ("P", ["pe"]),
        ("Q", ["ki"]),
        ("W", ["we"]),
        ("X", ["eks"]),
        ("Z", ["zet"]),
        ("KIA", ["ka", "i", "a"]),
        ("ugd", ["u", "ge", "de"]),
        ("É", ["e"]),
        ("A-1", ["a"]),
    ],
)
def test_letters_are_read_by_their_indonesian_names(letters: str, spoken: list[str]) -> None:
    """A is "a", B "be", C "ce"… as in the KBBI alphabet; non-letters are dropped."""
    assert letter_words(letters) == spoken


def test_every_letter_has_a_name() -> None:
    """All 26 letters are covered, and names are plain lower-case words (clip file names)."""
    assert sorted(LETTER_NAMES) == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert all(name.isascii() and name.isalpha() and name.islower() for name in LETTER_NAMES.values())


@pytest.mark.parametrize(
    ("name", "clips", "text"),
    [
        ("Loket 2", ["loket", "dua"], "Loket dua"),
        ("Loket 02", ["loket", "dua"], "Loket dua"),
        ("Loket 10", ["loket", "sepuluh"], "Loket sepuluh"),
        ("Ruang Poli Umum 1", ["ruang", "poli", "umum", "satu"], "Ruang Poli Umum satu"),
        ("Ruang Poli Gigi", ["ruang", "poli", "gigi"], "Ruang Poli Gigi"),
        ("Ruang KIA", ["ruang", "ka", "i", "a"], "Ruang KIA"),
        ("Poli MTBS", ["poli", "em", "te", "be", "es"], "Poli MTBS"),
        ("LOKET 3", ["loket", "tiga"], "LOKET tiga"),
        ("Loket B", ["loket", "be"], "Loket B"),
        ("Laboratorium", ["laboratorium"], "Laboratorium"),
        ("Apotek", ["apotek"], "Apotek"),
        ("Meja-3", ["meja", "tiga"], "Meja tiga"),
        ("Ruang 1A", ["ruang", "satu", "a"], "Ruang satu A"),
        ("Ruang Tindakan (UGD)", ["ruang", "tindakan", "u", "ge", "de"], "Ruang Tindakan UGD"),
    ],
)
def test_counter_names(name: str, clips: list[str], text: str) -> None:
    """Counter names are read word by word, digits as numbers, short capitals spelled out."""
    assert name_words(name) == clips
    assert name_text(name) == text


def test_the_call_of_the_brief() -> None:
    """A012 at Loket 2: the number without leading zeros, the letter by name."""
    assert announcement("A012", "Loket 2") == {
        "text": "Nomor antrean A dua belas, silakan menuju Loket dua",
        "clips": ["nomor", "antrean", "a", "dua", "belas", "silakan", "menuju", "loket", "dua"],
    }


@pytest.mark.parametrize(
    ("number", "counter", "text", "clips"),
    [
        (
            "B001",
            "Ruang Poli Umum 1",
            "Nomor antrean B satu, silakan menuju Ruang Poli Umum satu",
            ["nomor", "antrean", "be", "satu", "silakan", "menuju", "ruang", "poli", "umum", "satu"],
        ),
        (
            "D115",
            "Ruang KIA",
            "Nomor antrean D seratus lima belas, silakan menuju Ruang KIA",
            ["nomor", "antrean", "de", "seratus", "lima", "belas", "silakan", "menuju", "ruang", "ka", "i", "a"],
        ),
        (
            "A021",
            "Loket 2",
            "Nomor antrean A dua puluh satu, silakan menuju Loket dua",
            ["nomor", "antrean", "a", "dua", "puluh", "satu", "silakan", "menuju", "loket", "dua"],
        ),
        (
            "F1000",
            "Apotek",
            "Nomor antrean F seribu, silakan menuju Apotek",
            ["nomor", "antrean", "ef", "seribu", "silakan", "menuju", "apotek"],
        ),
        (
            "C000",
            "Ruang Poli Gigi",
            "Nomor antrean C nol, silakan menuju Ruang Poli Gigi",
            ["nomor", "antrean", "ce", "nol", "silakan", "menuju", "ruang", "poli", "gigi"],
        ),
        (
            "a-7",
            "Loket 1",
            "Nomor antrean A tujuh, silakan menuju Loket satu",
            ["nomor", "antrean", "a", "tujuh", "silakan", "menuju", "loket", "satu"],
        ),
        (
            "12",
            "Loket 1",
            "Nomor antrean dua belas, silakan menuju Loket satu",
            ["nomor", "antrean", "dua", "belas", "silakan", "menuju", "loket", "satu"],
        ),
    ],
)
def test_calls(number: str, counter: str, text: str, clips: list[str]) -> None:
    """Whole calls: text for captions and speech synthesis, clips in play order."""
    assert announcement(number, counter) == {"text": text, "clips": clips}


def test_an_odd_ticket_number_is_still_read() -> None:
    """A number not shaped <letters><digits> is read like a name, never raises."""
    said = announcement("X-12-B", "Loket 1")
    assert said["clips"] == ["nomor", "antrean", "eks", "dua", "belas", "be", "silakan", "menuju", "loket", "satu"]


def test_vocabulary_covers_every_call() -> None:
    """vocabulary() holds every clip that any call at those counters needs, whatever the number."""
    counters = ["Loket 2", "Ruang KIA"]
    words = vocabulary(counters)
    for prefix in LETTER_NAMES:
        for n in (0, 7, 12, 99, 115, 999, 1000, 1200, 54_321, 7_000_000):
            for counter in counters:
                clips = announcement(f"{prefix}{n:03d}", counter)["clips"]
                assert isinstance(clips, list)
                assert set(clips) <= words
