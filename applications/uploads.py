"""Checking uploaded files: the type is found in the content, and must match the extension.

A browser's ``Content-Type`` and the file name are both chosen by the uploader, so neither is
trusted alone: a file is accepted only when its first bytes (the "magic number") say the same
type as its extension, and that type is allowed by the settings. Office documents are ZIP files
whose table of contents names their part (``word/``, ``xl/``, ``ppt/``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import NoReturn

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from marketplace.core.errors import DomainError

# type -> (extensions, content type sent on download)
TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "pdf": ((".pdf",), "application/pdf"),
    "png": ((".png",), "image/png"),
    "jpeg": ((".jpg", ".jpeg"), "image/jpeg"),
    "gif": ((".gif",), "image/gif"),
    "zip": ((".zip",), "application/zip"),
    "docx": (
        (".docx",),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "xlsx": ((".xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": (
        (".pptx",),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    "txt": ((".txt",), "text/plain"),
    "md": ((".md", ".markdown"), "text/markdown"),
    "csv": ((".csv",), "text/csv"),
}
OFFICE_PARTS = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
TEXT_TYPES = {"txt", "md", "csv"}
TEXT_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    name: str
    kind: str
    size: int

    @property
    def content_type(self) -> str:
        return TYPES[self.kind][1]


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _kind_for_extension(ext: str) -> str | None:
    for kind, (extensions, _ct) in TYPES.items():
        if ext in extensions:
            return kind
    return None


def _content_is(kind: str, upload: UploadedFile) -> bool:
    upload.seek(0)
    head = upload.read(TEXT_SNIFF_BYTES if kind in TEXT_TYPES else 16)
    upload.seek(0)
    if kind == "pdf":
        return head.startswith(b"%PDF-")
    if kind == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if kind == "gif":
        return head.startswith((b"GIF87a", b"GIF89a"))
    if kind in TEXT_TYPES:
        # Plain text: no NUL bytes and valid UTF-8 (a cut multi-byte character at the end of
        # the sniffed part is fine).
        if b"\x00" in head:
            return False
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.start >= len(head) - 3 and len(head) == TEXT_SNIFF_BYTES
        return True
    if kind == "zip" or kind in OFFICE_PARTS:
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return False
        try:
            with zipfile.ZipFile(upload) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        finally:
            upload.seek(0)
        if kind == "zip":
            return True
        return "[Content_Types].xml" in names and any(
            n.startswith(OFFICE_PARTS[kind]) for n in names
        )
    return False


def content_type_for(name: str) -> str:
    """The content type to serve a stored file with, from its name: the extension was checked
    against the content on upload, so it names the real type (unknown: a generic binary)."""
    kind = _kind_for_extension(_extension(name))
    return TYPES[kind][1] if kind else "application/octet-stream"


def content_types_of(kinds: list[str]) -> list[str]:
    """The content types a download of files of these kinds may have (for the API schema)."""
    return sorted({TYPES[kind][1] for kind in kinds if kind in TYPES})


def _allowed_label(allowed: list[str]) -> str:
    extensions = [ext for kind in allowed if kind in TYPES for ext in TYPES[kind][0]]
    return ", ".join(extensions)


def check_file(
    upload: UploadedFile, *, allowed: list[str], max_bytes: int, field: str = "files"
) -> CheckedFile:
    """The checked file, or a ``DomainError`` naming the file and what is wrong with it."""
    shown = upload.name or "The file"

    def refuse(message: str, code: str) -> NoReturn:
        raise DomainError(message, code=code, fields={field: [message]})

    try:
        name = get_valid_filename(upload.name or "file")[:200] or "file"
    except SuspiciousFileOperation:  # nothing usable in the name ("   ", "..")
        refuse(f"“{shown}” is not a usable file name; rename the file.", "file_name_invalid")

    if not upload.size:
        refuse(f"“{shown}” is empty.", "file_empty")
    if upload.size > max_bytes:
        refuse(
            f"“{shown}” is {upload.size / 1_048_576:.1f} MB; the limit is "
            f"{max_bytes / 1_048_576:.0f} MB per file.",
            "file_too_large",
        )
    kind = _kind_for_extension(_extension(name))
    if kind is None or kind not in allowed:
        refuse(
            f"“{shown}” is not an allowed type. Allowed: {_allowed_label(allowed)}.",
            "file_type_not_allowed",
        )
    if not _content_is(kind, upload):
        refuse(
            f"The content of “{shown}” is not a {kind.upper()} file, whatever its name says.",
            "file_content_mismatch",
        )
    return CheckedFile(upload=upload, name=name, kind=kind, size=upload.size)


def check_files(
    uploads: list[UploadedFile], *, allowed: list[str], max_bytes: int, max_files: int
) -> list[CheckedFile]:
    if len(uploads) > max_files:
        noun = "file" if max_files == 1 else "files"
        message = f"At most {max_files} {noun} per submission; you chose {len(uploads)}."
        raise DomainError(message, code="too_many_files", fields={"files": [message]})
    return [check_file(u, allowed=allowed, max_bytes=max_bytes) for u in uploads]
