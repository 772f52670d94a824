"""The lz-string port gives the JavaScript library's exact output, and reads it back.

Every vector below was produced by the real JS library, lz-string 1.5.0 from the npm registry
(pieroxy/lz-string), under Node 20: ``LZString.compressToEncodedURIComponent(input)`` for each
input, checked there to round-trip with ``decompressFromEncodedURIComponent``. The inputs were
passed to Node as a JSON file written by Python, so both sides saw the same UTF-16 strings.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from modules.bpjs.lzstring import (
    URI_SAFE_ALPHABET,
    LZStringError,
    compress_to_encoded_uri_component as compress,
    decompress_from_encoded_uri_component as decompress,
)


def long_json() -> str:
    """A getlisttask-like answer with 20 similar rows (the long, repetitive vector's input)."""
    tasks = [
        {
            "wakturs": f"26-11-2026 08:{i:02d}:00 WIB",
            "waktu": f"26-11-2026 08:{i:02d}:05 WIB",
            "taskname": "mulai waktu tunggu poli",
            "taskid": 3,
            "kodebooking": f"20261126A{i:03d}",
        }
        for i in range(20)
    ]
    return json.dumps({"response": {"list": tasks}, "metadata": {"code": 200, "message": "OK"}}, separators=(",", ":"))


#: printable ASCII then U+0100..U+013F: 8-bit and 16-bit new characters, and the code width growing
WIDE_ALPHABET = "".join(chr(c) for c in range(0x20, 0x7F)) + "".join(chr(c) for c in range(0x100, 0x140))

# (name, input, output of lz-string 1.5.0 compressToEncodedURIComponent)
VECTORS = [
    ("empty", "", "Q"),
    ("one", "a", "IZA"),
    ("hello", "hello world", "BYUwNmD2AEDukCcwBMg"),
    (
        "sentence",
        "Halo, Puskesmas Kenjeran! Nomor antrean A-012 dipanggil ke Loket 2.",
        "BIQwNg9gNABACgVwM4GsCmSC2IkwNJoB2AVmgE4iECEMAchJhGTJQC5lqUwCCAtAAwBGAEwwAJgEsADpQDmsiWBjoYAGQjpWMYQDogA",
    ),
    (
        "unicode",  # em dash, CJK, é, ☕ (BMP) and 😀, 𝄞 (surrogate pairs in JS)
        "Poli Gigi \u2014 \u6b6f\u79d1 \u2014 caf\u00e9 \u2615 \U0001f600 \U0001d11e",
        "AoewNglgBA4hDm1AoBFQ9taEXPKKDGBDAZgJdSCoZFILwbgAHtSAsG4Hi7QA",
    ),
    ("lone_surrogate", "a\ud83dz", "IaXg2F5A"),
    (
        "wide_alphabet",
        WIDE_ALPHABET,
        "AQQgRAxAJApAZAcgBQEoBUBqANAWgHQD0ADAIwBMAzACwCsAbAOwAcAnAFwDcAPALwB8AfgACAQQBCAYQAiAUQBiAcQASASQBSAa"
        "QAyAWQByAeQAKARQBKAZQAqAVQBqAdQAaATQBaAbQA6AXQB6APoABgCGAEYAxgAmAKYAZgDmABYAlgBWANYANgC2AHYA9gAOAI4A"
        "TgDOAC4ArgBuAO4AHgCeAF4A3gA+AL4AfoAAgICAgIBAgIDAgIAggICggIBggIDggIAQgICQgIBQgIDQgIAwgICwgIBwgIDwgIAI"
        "gICIgIBIgIDIgIAogICogIBogIDogIAYgICYgIBYgIDYgIA4gIC4gIB4gID4gIACQEAhICAIkBAMSAgBJAQCkgIAyQEA5ICACkBA"
        "JSAgCpAQDUgIAaQEAtICAOkBAPSAgAZAQCMgIAmQEAzICAFkBAKyAgDZAQDsgIAOQEAnICALkBANyAgB5AQC8gIA+QEA-IBAA",
    ),
    (
        "long_json",
        long_json(),
        "N4IgTgpgzgDg9gOyhEAuUAbAllALmgbVAHcBDAa1wFcwo0QAmANgFoBGNlhgBmYAJuADlTduI7nwDqASQBCIADQgylKvWbtOPfkP"
        "EiArFLmKQuUlHIJSAWxSoQ1qhlJY+K6n2oIA5t6p94bBMzCywAEzQAZiVyODCIACM4OHIsH3VeJg5mAEFRbhAAXwUSCmpadVYOLk"
        "yBYW42cSN5JXc1ew1q7SY6kUbuQxkW03NLGzsHJxc3Mv8vX39ArGDR8KiYuMTk1PSOzOymPIaikuVZio6qrVrdXiahkzbKzRqdeo"
        "YDZpWLK1t6R2crjanioPj8ATgQSUIVSEVQ0RAsXiSRSaW8GWYByODBOpVUF0YV1ePVukXuxlas2eXRu9TJAy+0NGvwmAOmwPm4KW"
        "31h60RmxRO3Re0xbFyokiuLO+Lolxe3V63AALOThk85TS3iIVQyHkyfuN-lMgbMQWDFpDlvrefCNsjtmiMVkxYdREqpW0CZ1rlqB"
        "qrHlSNT6SfV9J89SMDX97GyTaozQsIVDIzaEUitqjdox9i6jvoPedZYT5bSREx-ZTVNTg4ry7qKSmWUbATN45yLcmYWtbfz7Znhd"
        "nReLuEwCzLq8TFQB2CvS6gThW3Gf14Ywpsx42tjztpNWlPdtMCh1Z7pY0RTsflIveye3eoSCPq4uakMiUOMxuGjctjmgxPc60Dzt"
        "DMhSdM8hEvGhryJRd6gATlnJ8b1gkQEJXHl10mH9TR3AD9zhQ8+1AkVnWHODIK9GDSzYMRRA-JCqK1GjwwbNcvyw9kcL-LlLR5ID"
        "exAx0SLPGiKOgksmP6B8GwYiTXw4FjV2ZdjYy3OZuI7PcuwI4DBSEwdSNdDgxIXaiPjox9A2fGtdDFRSMJUzdf3NXc+J0gS9JPHN"
        "xTFEyg1vYQ2HpaS1Ss5DqPpQZWOU6MOLjbcNNcwD3PTTyB1PXMGklYo8SvUymJ1EKAyrfyULYHUoqUqNWScriXLw7S+VS490u8oz"
        "3RyucoPy+SwwsmSwsY3r7OtTDVOc-9eOSpqj37MDMrYfNOs9cSX16Ng6yKyt51K6i60qhzYvGurJs7VYUtm4iDJE0dlsLHr1uXLa"
        "uoe2zlwO0bHOwttEoa86ZqI-SMp8i87vHXamPvejBrk9b3wjNijtqn76qm-CAcEryhyMwQ-OsgLUDYNDntktbbLQj7PyR76EtRs7"
        "QguwGscMvIiaKABdYoHAgMwwlIMw0FAABjTY0B4bglFsKAoFIbwJgAeQAaSKQogA",
    ),
]
IDS = [name for name, _, _ in VECTORS]


@pytest.mark.parametrize(("text", "encoded"), [(t, e) for _, t, e in VECTORS], ids=IDS)
def test_compress_gives_the_js_librarys_output(text: str, encoded: str) -> None:
    """compress_to_encoded_uri_component matches lz-string 1.5.0 character for character."""
    assert compress(text) == encoded


@pytest.mark.parametrize(("text", "encoded"), [(t, e) for _, t, e in VECTORS if t], ids=IDS[1:])
def test_decompress_reads_the_js_librarys_output(text: str, encoded: str) -> None:
    """decompress_from_encoded_uri_component reads what lz-string 1.5.0 wrote."""
    assert decompress(encoded) == text


def test_the_compressed_empty_string_decompresses_to_empty() -> None:
    """The end marker alone ("Q") is the empty string (the JS library returns "" too)."""
    assert decompress("Q") == ""


def test_spaces_are_read_as_plus_signs() -> None:
    """A "+" turned into a space by form decoding still decodes, as in the JS library."""
    encoded = dict((name, e) for name, _, e in VECTORS)["long_json"]
    assert "+" in encoded
    assert decompress(encoded.replace("+", " ")) == long_json()


def test_repetitive_json_compresses_well() -> None:
    """The 20-row answer shrinks to under half its length (6 bits a character, and still shorter)."""
    text = long_json()
    assert len(compress(text)) < len(text) / 2


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("", "nothing to decompress"),
        ("I!A", "not in the URI-safe alphabet"),
        ("IZ", "ends before its end marker"),  # "IZA" ("a") cut short
        ("w", "unknown code 3"),  # the first code must be 0, 1 or 2
        ("Ibg", "refers past the dictionary"),  # "a", then code 7 with 4 entries
    ],
    ids=["empty", "bad-character", "truncated", "bad-first-code", "code-past-dictionary"],
)
def test_corrupt_input_raises(data: str, problem: str) -> None:
    """Where the JS library returns null or "", the port raises LZStringError naming the problem."""
    with pytest.raises(LZStringError, match=problem):
        decompress(data)


def test_characters_after_the_end_marker_are_ignored() -> None:
    """The decoder stops at the end marker and never reads further, as the JS library does."""
    assert decompress("IZA!") == "a"


def test_a_truncated_long_stream_raises() -> None:
    """Half of a real stream is an error, not a shorter text."""
    encoded = dict((name, e) for name, _, e in VECTORS)["long_json"]
    with pytest.raises(LZStringError):
        decompress(encoded[: len(encoded) // 2])


@given(st.text())
def test_round_trip(text: str) -> None:
    """Any text (non-ASCII and non-BMP included) comes back unchanged, in URI-safe characters only."""
    encoded = compress(text)
    assert set(encoded) <= set(URI_SAFE_ALPHABET)
    assert decompress(encoded) == text


@given(st.text(st.characters(exclude_categories=()), max_size=50))
def test_round_trip_with_lone_surrogates(text: str) -> None:
    """Lone surrogates survive too; only a high+low pair comes back joined, as JS cannot tell them apart."""
    as_js_sees_it = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    assert decompress(compress(text)) == as_js_sees_it


@given(st.lists(st.sampled_from(["kodebooking", '":"', "A-0", "1", "2", "\u00e9", "\U0001f600"]), max_size=300))
def test_round_trip_of_repetitive_text(parts: list[str]) -> None:
    """Long repetitive inputs (many dictionary hits, growing code widths) round-trip."""
    text = "".join(parts)
    assert decompress(compress(text)) == text
