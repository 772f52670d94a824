"""Signing of requests to BPJS Antrean Online, and decryption of its encrypted responses.

Pure functions: no I/O and no clock reads. The caller passes the timestamp (Unix seconds, UTC, as
the string it puts in ``x-timestamp``) because the same string is part of the signature *and* of
the key that decrypts the answer to that request.

* Signature: ``base64(HMAC-SHA256(key=secret, msg=f"{cons_id}&{timestamp}"))``.
* Encrypted ``response``: key = ``SHA-256(cons_id + secret + timestamp)`` (32 bytes), iv = the
  key's first 16 bytes, AES-256-CBC with PKCS#7 padding over base64; the plaintext is the JSON
  compressed with lz-string ``compressToEncodedURIComponent``.
* Envelope: ``{"metadata" | "metaData": {"code": int | str, "message": str}, "response": ...}``.

Errors: :class:`BpjsDecryptError` (a response that does not decrypt, decompress or parse) and
:class:`BpjsEnvelopeError` (a body that is not a BPJS envelope), both :class:`ValueError`. Neither
message ever contains the secret or the derived key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .lzstring import LZStringError, compress_to_encoded_uri_component, decompress_from_encoded_uri_component

__all__ = [
    "BpjsDecryptError",
    "BpjsEnvelopeError",
    "decrypt",
    "encrypt",
    "headers",
    "open_response",
    "parse_envelope",
    "signature",
    "timestamp_of",
]

_BLOCK = 16  # AES block size in bytes


class BpjsDecryptError(ValueError):
    """An encrypted ``response`` could not be opened (bad base64, key, padding, text or JSON)."""


class BpjsEnvelopeError(ValueError):
    """A body is not a BPJS envelope: no ``metadata``/``metaData`` object, or a code that is not a number."""


def timestamp_of(unix_ms: int) -> str:
    """The ``x-timestamp`` value for a time in epoch milliseconds: whole seconds, as a string."""
    return str(unix_ms // 1000)


def signature(cons_id: str, secret: str, timestamp: str) -> str:
    """The ``x-signature`` header: ``base64(HMAC-SHA256(key=secret, msg=cons_id + "&" + timestamp))``."""
    digest = hmac.new(secret.encode(), f"{cons_id}&{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def headers(cons_id: str, secret: str, user_key: str, timestamp: str) -> dict[str, str]:
    """The four authentication headers of every antreanrs/antreanfktp call (the secret only as a signature)."""
    return {
        "x-cons-id": cons_id,
        "x-timestamp": timestamp,
        "x-signature": signature(cons_id, secret, timestamp),
        "user_key": user_key,
    }


def _cipher(cons_id: str, secret: str, timestamp: str) -> Cipher[modes.CBC]:
    key = hashlib.sha256(f"{cons_id}{secret}{timestamp}".encode()).digest()
    return Cipher(algorithms.AES(key), modes.CBC(key[:_BLOCK]))


def encrypt(cons_id: str, secret: str, timestamp: str, plaintext: str) -> str:
    """What BPJS sends as an encrypted ``response``: the inverse of :func:`decrypt`.

    Args:
        plaintext: the text to protect (for BPJS, a JSON document).

    Returns:
        ``base64(AES-256-CBC(PKCS#7(lz-string compressToEncodedURIComponent(plaintext))))``.
    """
    padder = padding.PKCS7(_BLOCK * 8).padder()
    padded = padder.update(compress_to_encoded_uri_component(plaintext).encode("ascii")) + padder.finalize()
    encryptor = _cipher(cons_id, secret, timestamp).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def decrypt(cons_id: str, secret: str, timestamp: str, ciphertext_b64: str) -> str:
    """Open an encrypted ``response``: base64 → AES-256-CBC → PKCS#7 unpad → lz-string decompress.

    Args:
        timestamp: the ``x-timestamp`` sent with the request this is the answer to.
        ciphertext_b64: the ``response`` string (whitespace and line breaks are ignored).

    Returns:
        The decompressed text (for BPJS, JSON; :func:`open_response` parses it).

    Raises:
        BpjsDecryptError: the input is not base64, not whole AES blocks, was encrypted with other
            credentials or another timestamp (bad padding), or is not an lz-string stream.
    """
    try:
        raw = base64.b64decode("".join(ciphertext_b64.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BpjsDecryptError(f"the response is not valid base64: {exc}") from None
    if not raw or len(raw) % _BLOCK:
        raise BpjsDecryptError(f"the response is {len(raw)} bytes, not a whole number of AES blocks")
    decryptor = _cipher(cons_id, secret, timestamp).decryptor()
    unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
    try:
        padded = decryptor.update(raw) + decryptor.finalize()
        compressed = (unpadder.update(padded) + unpadder.finalize()).decode("ascii")
    except ValueError:  # bad padding, or bytes that are not text: wrong credentials or timestamp
        raise BpjsDecryptError(
            "the response does not decrypt with these credentials and timestamp (bad padding or text)"
        ) from None
    try:
        return decompress_from_encoded_uri_component(compressed)
    except LZStringError as exc:
        raise BpjsDecryptError(f"the decrypted response is not an lz-string stream: {exc}") from None


def parse_envelope(body: Any) -> tuple[int, str, Any]:
    """``(code, message, response)`` of a BPJS answer, as it came (an encrypted response stays a string).

    Accepts ``metadata`` and the older ``metaData``, and a code given as an int or a numeric string.
    A missing message reads as ``""``, a missing response as ``None``.

    Raises:
        BpjsEnvelopeError: ``body`` is not an object with a metadata object holding a numeric code.
    """
    if not isinstance(body, dict):
        raise BpjsEnvelopeError(f"a BPJS answer is a JSON object, not {type(body).__name__}")
    metadata = body.get("metadata", body.get("metaData"))
    if not isinstance(metadata, dict):
        raise BpjsEnvelopeError("the answer has no metadata object (metadata or metaData)")
    code = metadata.get("code")
    if isinstance(code, bool) or not isinstance(code, int | str):
        raise BpjsEnvelopeError(f"metadata.code is {code!r}, not a number")
    try:
        number = int(code)
    except ValueError:
        raise BpjsEnvelopeError(f"metadata.code is {code!r}, not a number") from None
    message = metadata.get("message")
    return number, "" if message is None else str(message), body.get("response")


def open_response(body: Any, *, cons_id: str, secret: str, timestamp: str) -> tuple[int, str, Any]:
    """:func:`parse_envelope`, then decrypt and parse ``response`` if it is a (non-empty) string.

    Responses that are already JSON values (objects, lists, ``None``) are returned as they are, so
    this is safe on every answer: only the services marked "perlu dilakukan dekripsi" send strings.

    Args:
        timestamp: the ``x-timestamp`` sent with the request this is the answer to.

    Raises:
        BpjsEnvelopeError: as :func:`parse_envelope`.
        BpjsDecryptError: the string does not decrypt (see :func:`decrypt`), or is not JSON once decrypted.
    """
    code, message, response = parse_envelope(body)
    if isinstance(response, str) and response:
        text = decrypt(cons_id, secret, timestamp, response)
        try:
            response = json.loads(text)
        except ValueError:
            raise BpjsDecryptError("the decrypted response is not JSON") from None
    return code, message, response
