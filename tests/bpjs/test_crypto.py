"""BPJS request signing, response encryption and the answer envelope, against independent vectors.

Where the vectors come from (made-up credentials; no real BPJS cons-id, secret or user_key here):

* ``SIGNATURE``: OpenSSL 3.0, ``printf '%s' '12345&1795654800' | openssl dgst -sha256 -hmac
  's3cr3t-uji' -binary | base64``.
* ``KEY_HEX``: OpenSSL, ``printf '%s' '12345s3cr3t-uji1795654800' | openssl dgst -sha256 -hex``.
* ``REF_POLI_CIPHERTEXT`` / ``OK_CIPHERTEXT``: the plaintext was compressed by the JS lz-string
  1.5.0 (npm) ``compressToEncodedURIComponent`` under Node 20, then encrypted by OpenSSL 3.0:
  ``openssl enc -aes-256-cbc -K $KEY_HEX -iv ${KEY_HEX:0:32} -base64 -A -in compressed.txt``.
  OpenSSL pads with PKCS#7 by default.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, strategies as st

from modules.bpjs.crypto import (
    BpjsDecryptError,
    BpjsEnvelopeError,
    decrypt,
    encrypt,
    headers,
    open_response,
    parse_envelope,
    signature,
    timestamp_of,
)

CONS_ID = "12345"
SECRET = "s3cr3t-uji"
USER_KEY = "kunci-pengguna-uji"
#: Thursday 2026-11-26 08:00 WIB, in Unix seconds
TIMESTAMP = "1795654800"
CREDENTIALS = {"cons_id": CONS_ID, "secret": SECRET, "timestamp": TIMESTAMP}

SIGNATURE = "JZ/DF4z8CJRKRlXZcVLGrFTN2dhFkPPheJ66Umd+p/w="
KEY_HEX = "39e225fb390fe9c906f2cdbe4774631d2ab3181a88bfa84e8a2aa2fce646234c"

#: a ref/poli-like list (catalog example, plus a row with an em dash) and its encryption
REF_POLI = (
    '{"list":[{"nmpoli":"ANAK","nmsubspesialis":"ANAK ALERGI IMUNOLOGI","kdsubspesialis":"027","kdpoli":"ANA"},'
    '{"nmpoli":"GIGI","nmsubspesialis":"ORTODONSIA \u2014 gigi","kdsubspesialis":"ORT","kdpoli":"GIG"}]}'
)
REF_POLI_COMPRESSED = (
    "N4IgNglgzgLiBcBtUA7AtgBwPaQSAggHL4DSIANCOlAK4BGUGAplBAIaRR5GkAE+AGQCiAJQDiASV4SAsgFVCAeQGLJFEAGsAJrQbNW"
    "HaHgAMAJgDs67dlzwCxEAF9yqTDgh5JaytXqMW7Jx4iiIAKooAIoqEAMoS+LyAKAS8AOYQaVY6fvqBRnYhoZk2HnZeTgC6jkA"
)
REF_POLI_CIPHERTEXT = (
    "WHGTe/GyJ2H2hDcyADJ3PUoH6Xndg3Nl2lI7v2bkwyf5wU7+AlBk416QIom+n2e/JRCg0h+ou4GWBFG8iTNt1hHw+JaGDA/PzYS9wE4imQvo"
    "IwqEMVnQOUOD6ekaD3C95dhnCOWc6q0yGR1/xTFXr+rX56bVaAE/4W1Z2Fpt+6qnfhARbEyTMf28JwsW/Vc6WdUBYNDvH1oxCMgWPjIqWD1C"
    "tRrNn2iMrjYhl/fjS47uFmeDIAn7N7rX9CemjNzTc8OIIiguRsCv09MVvB5mMg=="
)
#: '{"ok":true}' (compressed: "N4Ig9g1iBcAuBOBXApgXyA"), one AES block plus padding
OK_CIPHERTEXT = "mRGVnyeiCligWYUhx0a3ZN+843vlwT6F1ZNTfA+dmjc="


def test_signature_matches_openssl() -> None:
    """x-signature is base64(HMAC-SHA256(secret, cons_id & timestamp)), as OpenSSL computes it."""
    assert signature(CONS_ID, SECRET, TIMESTAMP) == SIGNATURE


def test_signature_depends_on_every_input() -> None:
    """Another cons-id, secret or timestamp gives another signature."""
    others = {signature("12346", SECRET, TIMESTAMP), signature(CONS_ID, "s3cr3t-ujI", TIMESTAMP)}
    others.add(signature(CONS_ID, SECRET, "1795654801"))
    assert SIGNATURE not in others and len(others) == 3


def test_headers_carry_the_four_fields_and_no_secret() -> None:
    """The headers are x-cons-id, x-timestamp, x-signature and user_key; the secret appears nowhere."""
    sent = headers(CONS_ID, SECRET, USER_KEY, TIMESTAMP)
    assert sent == {"x-cons-id": CONS_ID, "x-timestamp": TIMESTAMP, "x-signature": SIGNATURE, "user_key": USER_KEY}
    assert all(SECRET not in value for value in sent.values())


def test_timestamp_is_whole_unix_seconds() -> None:
    """x-timestamp is the epoch time in seconds (milliseconds truncated), as a string."""
    assert timestamp_of(1_795_654_800_999) == TIMESTAMP


def test_the_key_is_the_sha256_of_cons_id_secret_and_timestamp() -> None:
    """The key OpenSSL was given is SHA-256(cons_id + secret + timestamp) (a check of the vector itself)."""
    assert hashlib.sha256(f"{CONS_ID}{SECRET}{TIMESTAMP}".encode()).hexdigest() == KEY_HEX


@pytest.mark.parametrize(("ciphertext", "plaintext"), [(REF_POLI_CIPHERTEXT, REF_POLI), (OK_CIPHERTEXT, '{"ok":true}')])
def test_decrypt_opens_what_openssl_encrypted(ciphertext: str, plaintext: str) -> None:
    """AES-256-CBC (key and iv from SHA-256) then lz-string: OpenSSL + JS lz-string output decrypts."""
    assert decrypt(CONS_ID, SECRET, TIMESTAMP, ciphertext) == plaintext


@pytest.mark.parametrize(("ciphertext", "plaintext"), [(REF_POLI_CIPHERTEXT, REF_POLI), (OK_CIPHERTEXT, '{"ok":true}')])
def test_encrypt_gives_what_openssl_gave(ciphertext: str, plaintext: str) -> None:
    """encrypt() is byte for byte what OpenSSL produced from the JS lz-string output (CBC is deterministic)."""
    assert encrypt(CONS_ID, SECRET, TIMESTAMP, plaintext) == ciphertext


def test_decrypt_ignores_line_breaks_in_the_base64() -> None:
    """A response wrapped at 76 columns (as some gateways do) still decrypts."""
    wrapped = "\n".join(REF_POLI_CIPHERTEXT[i : i + 76] for i in range(0, len(REF_POLI_CIPHERTEXT), 76))
    assert decrypt(CONS_ID, SECRET, TIMESTAMP, wrapped) == REF_POLI


@pytest.mark.parametrize(
    ("credentials", "ciphertext", "problem"),
    [
        ({"timestamp": "1795654801"}, REF_POLI_CIPHERTEXT, "does not decrypt|not an lz-string"),
        ({"secret": "salah"}, REF_POLI_CIPHERTEXT, "does not decrypt|not an lz-string"),
        ({}, "bukan base64!", "not valid base64"),
        ({}, "", "0 bytes"),
        ({}, base64.b64encode(b"x" * 15).decode(), "15 bytes"),
        ({}, REF_POLI_CIPHERTEXT[:-24] + "==", "not valid base64|does not decrypt|AES blocks"),
    ],
    ids=["other-timestamp", "other-secret", "not-base64", "empty", "partial-block", "cut-short"],
)
def test_decrypt_raises_a_clear_error(credentials: dict[str, str], ciphertext: str, problem: str) -> None:
    """Wrong timestamp or secret, bad base64, or not whole blocks: BpjsDecryptError, never garbage."""
    given_credentials = CREDENTIALS | credentials
    with pytest.raises(BpjsDecryptError, match=problem) as raised:
        decrypt(given_credentials["cons_id"], given_credentials["secret"], given_credentials["timestamp"], ciphertext)
    assert SECRET not in str(raised.value) and KEY_HEX not in str(raised.value)


def test_decrypt_raises_when_the_plaintext_is_not_lz_string() -> None:
    """Text that decrypts fine but is not an lz-string stream is reported as such."""
    key = bytes.fromhex(KEY_HEX)
    padder = padding.PKCS7(128).padder()
    block = padder.update(b"!!!") + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    raw = base64.b64encode(encryptor.update(block) + encryptor.finalize()).decode()
    with pytest.raises(BpjsDecryptError, match="not an lz-string stream"):
        decrypt(CONS_ID, SECRET, TIMESTAMP, raw)


@given(st.text(), st.text(min_size=1, max_size=20), st.from_regex(r"\A[0-9]{10}\Z"))
def test_encrypt_then_decrypt_round_trips(plaintext: str, secret: str, timestamp: str) -> None:
    """Any text (non-ASCII included) survives encrypt → decrypt with the same credentials and timestamp."""
    assert decrypt(CONS_ID, secret, timestamp, encrypt(CONS_ID, secret, timestamp, plaintext)) == plaintext


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"metadata": {"code": 200, "message": "Ok"}}, (200, "Ok", None)),
        ({"metaData": {"code": "200", "message": "OK"}, "response": {"list": []}}, (200, "OK", {"list": []})),
        ({"metadata": {"code": 1, "message": "OK"}, "response": "abc"}, (1, "OK", "abc")),
        ({"metadata": {"code": "208", "message": "TaskId=3 sudah ada"}}, (208, "TaskId=3 sudah ada", None)),
        ({"metadata": {"code": 201}}, (201, "", None)),
        ({"response": None, "metadata": {"code": " 201 ", "message": None}}, (201, "", None)),
    ],
    ids=["int", "metaData-string", "code-1-encrypted", "string-208", "no-message", "padded-string"],
)
def test_parse_envelope(body: dict[str, object], expected: tuple[int, str, object]) -> None:
    """Both spellings of metadata, codes as int or string, the response as it came."""
    assert parse_envelope(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"response": {}},
        {"metadata": "Ok"},
        {"metadata": {"message": "Ok"}},
        {"metadata": {"code": "OK"}},
        {"metadata": {"code": True}},
        {"metadata": {"code": 2.5}},
    ],
    ids=["list", "no-metadata", "metadata-string", "no-code", "code-word", "code-bool", "code-float"],
)
def test_parse_envelope_rejects_what_is_not_an_envelope(body: object) -> None:
    """A body without a metadata object and a numeric code raises BpjsEnvelopeError."""
    with pytest.raises(BpjsEnvelopeError):
        parse_envelope(body)


def test_open_response_decrypts_a_string_response() -> None:
    """An encrypted response comes back as parsed JSON, with the code normalised."""
    body = {"metadata": {"code": "1", "message": "OK"}, "response": REF_POLI_CIPHERTEXT}
    code, message, response = open_response(body, **CREDENTIALS)
    assert (code, message) == (1, "OK")
    assert response["list"][1]["nmsubspesialis"] == "ORTODONSIA \u2014 gigi"


@pytest.mark.parametrize("response", [None, {"list": []}, [1, 2], ""], ids=["none", "object", "list", "empty"])
def test_open_response_leaves_plain_responses_alone(response: object) -> None:
    """Only a non-empty string is decrypted; JSON values and empty strings pass through."""
    assert open_response({"metadata": {"code": 200, "message": "Ok"}, "response": response}, **CREDENTIALS) == (
        200,
        "Ok",
        response,
    )


def test_open_response_raises_when_the_plaintext_is_not_json() -> None:
    """Decrypted text that is not JSON is a BpjsDecryptError too."""
    body = {"metadata": {"code": 200}, "response": encrypt(CONS_ID, SECRET, TIMESTAMP, "bukan json")}
    with pytest.raises(BpjsDecryptError, match="not JSON"):
        open_response(body, **CREDENTIALS)


def test_open_response_with_the_wrong_timestamp_raises() -> None:
    """The timestamp must be the one sent with the request: another one fails loudly."""
    body = {"metadata": {"code": 200}, "response": REF_POLI_CIPHERTEXT}
    with pytest.raises(BpjsDecryptError):
        open_response(body, **(CREDENTIALS | {"timestamp": "1795654799"}))
