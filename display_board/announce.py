"""Indonesian call announcements: ticket number + counter -> spoken text and voice-clip order.

Pure functions, no I/O. The board page plays the clips in the order given here (after a chime);
the JavaScript holds no language logic.

How things are read aloud (the common style at Indonesian puskesmas and hospitals):

* **Numbers** are read whole, in words, without leading zeros: ``A012`` -> "A dua belas",
  ``B105`` -> "B seratus lima", ``C1234`` -> "C seribu dua ratus tiga puluh empat". One, ten,
  eleven, a hundred and a thousand take the prefix *se-*: "satu", "sepuluh", "sebelas", "seratus",
  "seribu". Millions are "satu juta", "dua juta"… Anything past 999 999 999 is read digit by digit.
* **Letters** are read by their Indonesian letter names (KBBI alphabet): A "a", B "be", C "ce",
  D "de", E "e", F "ef", G "ge", H "ha", I "i", J "je", K "ka", L "el", M "em", N "en", O "o",
  P "pe", Q "ki", R "er", S "es", T "te", U "u", V "ve", W "we", X "eks", Y "ye", Z "zet".
  The ticket's prefix letter, a single-letter word ("Loket B") and an acronym are read this way.
* **Counter names** are read word by word, digits as numbers ("Loket 2" -> "loket dua",
  "Ruang Poli Umum 1" -> "ruang poli umum satu"). A word written in capitals is an acronym and
  is spelled out when it has at most three letters or no vowel ("Ruang KIA" -> "ruang ka i a",
  "Poli MTBS" -> "poli em te be es"); write "Lab", not "LAB", for a word said as a word.

The text keeps the counter name as written (digits become words) for captions and the browser's
speech fallback; ``clips`` are the lower-case words, one audio file each
(``display_board/static/voice/<clip>.mp3``, made by ``display_board/make_voice.py``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: The Indonesian names of the letters (KBBI), which are also their clip names.
LETTER_NAMES: dict[str, str] = {
    "A": "a",
    "B": "be",
    "C": "ce",
    "D": "de",
    "E": "e",
    "F": "ef",
    "G": "ge",
    "H": "ha",
    "I": "i",
    "J": "je",
    "K": "ka",
    "L": "el",
    "M": "em",
    "N": "en",
    "O": "o",
    "P": "pe",
    "Q": "ki",
    "R": "er",
    "S": "es",
    "T": "te",
    "U": "u",
    "V": "ve",
    "W": "we",
    "X": "eks",
    "Y": "ye",
    "Z": "zet",
}

DIGITS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")

#: Every word a number can be read with.
NUMBER_WORDS: frozenset[str] = frozenset(
    (*DIGITS, "sepuluh", "sebelas", "belas", "puluh", "seratus", "ratus", "seribu", "ribu", "juta")
)

#: The fixed words of the call phrase.
PHRASE_WORDS: tuple[str, ...] = ("nomor", "antrean", "silakan", "menuju")

_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_TICKET = re.compile(r"^\s*([^\W\d_]*)[\s-]*(\d+)\s*$")
_VOWELS = frozenset("AEIOU")
_LIMIT = 1_000_000_000


def _below_thousand(n: int) -> list[str]:
    """Words for 1..999."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds == 1:
        words.append("seratus")
    elif hundreds:
        words += [DIGITS[hundreds], "ratus"]
    tens, ones = divmod(rest, 10)
    if rest == 10:
        words.append("sepuluh")
    elif rest == 11:
        words.append("sebelas")
    elif tens == 1:
        words += [DIGITS[ones], "belas"]
    else:
        if tens:
            words += [DIGITS[tens], "puluh"]
        if ones:
            words.append(DIGITS[ones])
    return words


def number_words(n: int) -> list[str]:
    """The Indonesian words for ``n`` (0 -> ["nol"], 12 -> ["dua", "belas"], 100 -> ["seratus"]).

    Raises:
        ValueError: if ``n`` is negative.
    """
    if n < 0:
        raise ValueError("a ticket number is never negative")
    if n == 0:
        return ["nol"]
    if n >= _LIMIT:
        return [DIGITS[int(d)] for d in str(n)]
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words: list[str] = []
    if millions:
        words += [*_below_thousand(millions), "juta"]
    if thousands == 1:
        words.append("seribu")
    elif thousands:
        words += [*_below_thousand(thousands), "ribu"]
    if units:
        words += _below_thousand(units)
    return words


def letter_words(letters: str) -> list[str]:
    """The letter names of ``letters`` ("KIA" -> ["ka", "i", "a"]); other characters are dropped."""
    return [LETTER_NAMES[c] for c in _fold(letters).upper() if c in LETTER_NAMES]


def _fold(word: str) -> str:
    """ASCII letters only: accents removed ("é" -> "e"), so clip file names stay plain."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()


def _is_acronym(word: str) -> bool:
    if len(word) == 1:
        return True
    if not word.isupper():
        return False
    return len(word) <= 3 or not (set(_fold(word).upper()) & _VOWELS)


def _word_clips(token: str) -> list[str]:
    if token.isdigit():
        return number_words(int(token))
    if _is_acronym(token):
        return letter_words(token)
    folded = _fold(token).lower()
    return [folded] if folded else []


def name_words(name: str) -> list[str]:
    """The clips of a counter or room name ("Ruang Poli Umum 1" -> ruang, poli, umum, satu)."""
    return [clip for token in _TOKEN.findall(name) for clip in _word_clips(token)]


def name_text(name: str) -> str:
    """The name as spoken, for captions: digits become words, the rest stays ("Loket 2" -> "Loket dua")."""
    return " ".join(" ".join(number_words(int(t))) if t.isdigit() else t for t in _TOKEN.findall(name))


def _ticket_parts(number: str) -> tuple[list[str], list[str], str]:
    """(letter clips, number clips, text) of a ticket number such as "A012"."""
    match = _TICKET.match(number)
    if match is None:  # not "<letters><digits>": read it as a name
        return [], name_words(number), name_text(number)
    letters, digits = match.groups()
    spoken = number_words(int(digits))
    text = " ".join([*(c for c in letters.upper()), *spoken])
    return letter_words(letters), spoken, text


def announcement(number: str, counter_name: str) -> dict[str, object]:
    """The call for ``number`` at ``counter_name``.

    >>> announcement("A012", "Loket 2")["text"]
    'Nomor antrean A dua belas, silakan menuju Loket dua'

    Returns:
        ``{"text": <caption and speech-synthesis fallback>, "clips": [<clip names in play order>]}``;
        the chime before the clips is the board's, not part of ``clips``.
    """
    letters, spoken, ticket_text = _ticket_parts(number)
    clips = ["nomor", "antrean", *letters, *spoken, "silakan", "menuju", *name_words(counter_name)]
    text = f"Nomor antrean {ticket_text}, silakan menuju {name_text(counter_name)}"
    return {"text": text, "clips": clips}


def vocabulary(counter_names: Iterable[str]) -> set[str]:
    """Every clip a call can need: the phrase, all letters, all number words and these counters' words."""
    words: set[str] = {*PHRASE_WORDS, *LETTER_NAMES.values(), *NUMBER_WORDS}
    for name in counter_names:
        words.update(name_words(name))
    return words
