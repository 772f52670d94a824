"""A pure-Python port of lz-string's URI-safe codec (pieroxy/lz-string, ``compressToEncodedURIComponent``).

BPJS compresses the JSON of an encrypted ``response`` with lz-string before encrypting it, so the
bridge needs ``decompressFromEncodedURIComponent``; the stand-in and the tests need the inverse.

Theory of operation (lz-string 1.x ``_compress`` / ``_decompress``, followed step by step):

* The JavaScript library works on UTF-16 **code units**, not code points: a character outside the
  BMP (an emoji) is two units, each of which may enter the dictionary on its own. To produce the
  same output as the JS library, text is turned into a string of code units first (surrogates as
  separate characters) and turned back after decompression.
* Output is a stream of bit fields written least-significant bit first and packed 6 bits per
  character of the URI-safe alphabet (most significant bit of each character first). Codes 0 and 1
  introduce a new 8-bit or 16-bit character, 2 ends the stream; the code width grows by one bit
  each time the dictionary reaches a power of two.
* Where the JS decoder returns ``null`` or ``""`` for a corrupt stream, this port raises
  :class:`LZStringError` instead: a truncated or garbled payload must not read as empty.
"""

from __future__ import annotations

__all__ = [
    "URI_SAFE_ALPHABET",
    "LZStringError",
    "compress_to_encoded_uri_component",
    "decompress_from_encoded_uri_component",
]

#: the 64 characters of ``compressToEncodedURIComponent``'s output (``keyStrUriSafe`` in lz-string)
URI_SAFE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-$"
_BITS_PER_CHAR = 6
_VALUE_OF = {char: index for index, char in enumerate(URI_SAFE_ALPHABET)}

# stream codes (the first dictionary entries)
_CHAR8 = 0
_CHAR16 = 1
_END = 2


class LZStringError(ValueError):
    """The input is not a well-formed ``compressToEncodedURIComponent`` stream."""


def _to_code_units(text: str) -> str:
    """``text`` with every non-BMP character split into its UTF-16 surrogate pair (as JS sees it)."""
    if text.isascii() or all(ord(char) < 0x10000 for char in text):
        return text
    raw = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(raw[i] | raw[i + 1] << 8) for i in range(0, len(raw), 2))


def _from_code_units(units: str) -> str:
    """Join surrogate pairs back into characters (a lone surrogate stays as it is, as in JS)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


class _BitWriter:
    """Bit fields, least significant bit first, packed into characters of the URI-safe alphabet."""

    __slots__ = ("out", "position", "value")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.value = 0
        self.position = 0

    def write(self, value: int, bits: int) -> None:
        for _ in range(bits):
            self.value = (self.value << 1) | (value & 1)
            value >>= 1
            if self.position == _BITS_PER_CHAR - 1:
                self.out.append(URI_SAFE_ALPHABET[self.value])
                self.position = 0
                self.value = 0
            else:
                self.position += 1

    def finish(self) -> str:
        """Pad the last character with zero bits (lz-string always emits it, even when empty)."""
        while True:
            self.value <<= 1
            if self.position == _BITS_PER_CHAR - 1:
                self.out.append(URI_SAFE_ALPHABET[self.value])
                return "".join(self.out)
            self.position += 1


class _Compressor:
    """The state of lz-string's ``_compress`` loop: dictionary, pending new characters, code width."""

    def __init__(self) -> None:
        self.dictionary: dict[str, int] = {}
        self.to_create: set[str] = set()  # single characters in the dictionary but not yet sent
        self.enlarge_in = 2  # compensates for the first entry, which should not count
        self.dict_size = 3
        self.num_bits = 2
        self.bits = _BitWriter()

    def _count_down(self) -> None:
        self.enlarge_in -= 1
        if self.enlarge_in == 0:
            self.enlarge_in = 1 << self.num_bits
            self.num_bits += 1

    def emit(self, w: str) -> None:
        """Send the code for ``w`` (introducing it first if it is a character never sent)."""
        if w in self.to_create:
            unit = ord(w[0])
            if unit < 256:
                self.bits.write(_CHAR8, self.num_bits)
                self.bits.write(unit, 8)
            else:
                self.bits.write(_CHAR16, self.num_bits)
                self.bits.write(unit, 16)
            self._count_down()
            self.to_create.discard(w)
        else:
            self.bits.write(self.dictionary[w], self.num_bits)
        self._count_down()

    def run(self, units: str) -> str:
        w = ""
        for c in units:
            if c not in self.dictionary:
                self.dictionary[c] = self.dict_size
                self.dict_size += 1
                self.to_create.add(c)
            wc = w + c
            if wc in self.dictionary:
                w = wc
                continue
            self.emit(w)
            self.dictionary[wc] = self.dict_size
            self.dict_size += 1
            w = c
        if w:
            self.emit(w)
        self.bits.write(_END, self.num_bits)
        return self.bits.finish()


def compress_to_encoded_uri_component(text: str) -> str:
    """Compress ``text`` exactly as lz-string's ``compressToEncodedURIComponent`` does.

    Args:
        text: any string; characters outside the BMP are handled as UTF-16 surrogate pairs, as in JS.

    Returns:
        Characters of :data:`URI_SAFE_ALPHABET` only (``"Q"`` for the empty string, as in JS).
    """
    return _Compressor().run(_to_code_units(text))


class _BitReader:
    """Reads bit fields (least significant bit first) from URI-safe characters, one character at a time."""

    __slots__ = ("data", "index", "mask", "value")

    def __init__(self, data: str) -> None:
        self.data = data
        self.index = 0
        self.value = 0
        self.mask = 0  # the next bit of ``value`` to read; 0: load the next character first

    def _next_char(self) -> int:
        if self.index >= len(self.data):
            raise LZStringError("the compressed stream ends before its end marker")
        char = self.data[self.index]
        try:
            value = _VALUE_OF[char]
        except KeyError:
            raise LZStringError(f"character {char!r} at {self.index} is not in the URI-safe alphabet") from None
        self.index += 1
        return value

    def read(self, bits: int) -> int:
        result = 0
        for power in range(bits):
            if self.mask == 0:
                self.value = self._next_char()
                self.mask = 1 << (_BITS_PER_CHAR - 1)
            if self.value & self.mask:
                result |= 1 << power
            self.mask >>= 1
        return result


def _read_new_char(reader: _BitReader, code: int) -> str | None:
    """The character introduced by stream code 0 or 1; ``None`` for the end marker."""
    if code == _CHAR8:
        return chr(reader.read(8))
    if code == _CHAR16:
        return chr(reader.read(16))
    if code == _END:
        return None
    raise LZStringError(f"unknown code {code} at the start of the stream")


def decompress_from_encoded_uri_component(data: str) -> str:
    """Decompress what lz-string's ``compressToEncodedURIComponent`` produced.

    Spaces are read as ``+`` (as the JS library does: a ``+`` that went through form decoding).

    Raises:
        LZStringError: ``data`` is empty, has a character outside :data:`URI_SAFE_ALPHABET`, is
            truncated, or refers to a dictionary entry that does not exist (the cases where the
            JS library returns ``null`` or ``""``).
    """
    if not data:
        raise LZStringError("nothing to decompress (lz-string returns null for an empty input)")
    reader = _BitReader(data.replace(" ", "+"))
    dictionary: list[str] = ["", "", ""]  # codes 0-2 are stream codes, never looked up
    enlarge_in = 4
    num_bits = 3

    first = _read_new_char(reader, reader.read(2))
    if first is None:
        return ""
    dictionary.append(first)
    w = first
    result = [first]
    while True:
        code = reader.read(num_bits)
        if code in (_CHAR8, _CHAR16):
            char = _read_new_char(reader, code)
            assert char is not None
            dictionary.append(char)
            code = len(dictionary) - 1
            enlarge_in -= 1
        elif code == _END:
            return _from_code_units("".join(result))
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1

        if code < len(dictionary):
            entry = dictionary[code]
        elif code == len(dictionary):
            entry = w + w[0]
        else:
            raise LZStringError(f"code {code} refers past the dictionary ({len(dictionary)} entries)")
        result.append(entry)
        dictionary.append(w + entry[0])
        enlarge_in -= 1
        w = entry
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1
