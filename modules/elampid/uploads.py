"""Applicants' documents: checked by their content, stored under random names, never served publicly.

An upload is accepted only if its bytes *are* a PDF, JPEG or PNG (magic numbers, not the file
name or the browser's content type), its name's extension agrees with that, it is not empty nor
over the size limit, and a PDF carries no active content (JavaScript, launch actions, embedded
files). Executables and archives are refused by name ("executable"), so an ``.exe`` renamed
``.pdf`` is reported as what it is.

Stored files get a random id (``secrets.token_urlsafe``) as their name, in a directory only the
server's user may read (``0o700``; files ``0o600``), written atomically. The applicant's file name
is not kept on disk. Reading back takes an id, checked against the id pattern, so no path can be
smuggled in. Serving a document is the web layer's business: only to its applicant (receipt + PIN)
and to staff of its kelurahan, never from a public static path.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePath

from queue_engine.domain.errors import DomainError

#: the largest document accepted (a phone photo of a page is 1 to 4 MB)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

#: content type -> (magic number at the start, extensions that may carry it)
KINDS: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
}

#: starts of files that run or unpack: Windows PE, ELF, Mach-O, scripts, ZIP (and so APK, JAR, DOCX)
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xce", b"#!", b"PK\x03\x04")

#: PDF names that make a document act rather than show (scripts, launching programs, attachments)
PDF_ACTIVE = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/OpenAction", b"/AA")

_ID = re.compile(r"^[A-Za-z0-9_-]{24}$")


class UploadRejected(DomainError):
    """An upload was refused; ``reason`` says why (no content or file name in it)."""

    code = "upload_rejected"
    message_id = "Berkas ditolak: unggah PDF, JPG atau PNG yang sah, paling besar 5 MB."
    message_en = "File refused: upload a genuine PDF, JPG or PNG of at most 5 MB."

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """What is known of a stored document: its random id, its real type, size and digest."""

    id: str
    content_type: str
    size: int
    sha256: str


def sniff(data: bytes, filename: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """The content type of an acceptable upload.

    Raises:
        UploadRejected: ``empty``, ``too_large``, ``executable``, ``unsupported_type``,
            ``type_mismatch`` (the name's extension says otherwise) or ``active_content``.
    """
    if not data:
        raise UploadRejected("empty")
    if len(data) > max_bytes:
        raise UploadRejected("too_large")
    if data.startswith(EXECUTABLE_MAGIC):
        raise UploadRejected("executable")
    found = next((kind for kind, (magic, _) in KINDS.items() if data.startswith(magic)), None)
    if found is None:
        raise UploadRejected("unsupported_type")
    if PurePath(filename).suffix.lower() not in KINDS[found][1]:
        raise UploadRejected("type_mismatch")
    if found == "application/pdf" and any(name in data for name in PDF_ACTIVE):
        raise UploadRejected("active_content")
    return found


class UploadStore:
    """Documents on disk under ``root`` (the data directory's ``uploads``), by random id."""

    def __init__(self, root: Path, *, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def save(self, data: bytes, filename: str) -> StoredUpload:
        """Check ``data`` (see :func:`sniff`) and store it under a new random id.

        Raises:
            UploadRejected: nothing was written.
        """
        content_type = sniff(data, filename, max_bytes=self.max_bytes)
        upload_id = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
        path = self._path(upload_id)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        temporary = path.with_name(f".{upload_id}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        return StoredUpload(upload_id, content_type, len(data), hashlib.sha256(data).hexdigest())

    def read(self, upload_id: str) -> bytes:
        """The bytes of a stored document.

        Raises:
            KeyError: not an id this store could have made, or no such document.
        """
        try:
            return self._path(upload_id).read_bytes()
        except FileNotFoundError:
            raise KeyError(upload_id) from None

    def content_type(self, upload_id: str) -> str:
        """The type of a stored document, from its first bytes (it was checked when saved).

        Raises:
            KeyError: no such document.
        """
        try:
            with self._path(upload_id).open("rb") as file:
                head = file.read(8)
        except FileNotFoundError:
            raise KeyError(upload_id) from None
        return next(kind for kind, (magic, _) in KINDS.items() if head.startswith(magic))

    def sweep(self, keep: set[str], *, older_than_s: float, now_s: float) -> int:
        """Delete stored documents not in ``keep`` whose file is older than ``older_than_s``; how many.

        Uploads come before the application that uses them; those never attached (an abandoned
        form, or someone filling the disk) go after a day instead of staying forever.
        """
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("*/*"):
            if path.name in keep or not _ID.fullmatch(path.name):
                continue
            if now_s - path.stat().st_mtime >= older_than_s:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _path(self, upload_id: str) -> Path:
        if not _ID.fullmatch(upload_id):
            raise KeyError(upload_id)
        return self.root / upload_id[:2] / upload_id
