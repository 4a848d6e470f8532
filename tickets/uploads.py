"""Files that come with a message: the same checks for the portal, the console and e-mail.

A file is accepted when its content is one of the allowed kinds (checked on the bytes, not
on the name or the browser's word), its name's extension fits that kind, and the request
stays within the size and count limits. One bad file rejects them all: the message is not
stored half-attached. HTML and SVG are never accepted, so nothing we serve back from our
origin can run a script; downloads are sent as attachments with ``nosniff`` anyway.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat

# kind -> (content type we serve it as, extensions a file of that kind may have, the first
# being the one a file gets when its name had to be made up)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "png": ("image/png", (".png",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "gif": ("image/gif", (".gif",)),
    "webp": ("image/webp", (".webp",)),
    "pdf": ("application/pdf", (".pdf",)),
    "zip": ("application/zip", (".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods")),
    "text": ("text/plain", (".txt", ".log", ".csv", ".md")),
}
GENERATED_NAME = "file"
ALLOWED_EXTENSIONS = sorted({ext for _, exts in KINDS.values() for ext in exts})


_MARKUP = re.compile(
    r"<\s*/?\s*(?:!doctype|!--|\?xml|\w+:\w+|(?:html|head|body|script|iframe|frame|frameset|svg|math|"
    r"img|image|video|audio|object|embed|style|meta|link|base|form|input|button|a)\b)",
    re.IGNORECASE,
)


class UploadError(ValueError):
    """A file was refused; the message names it and says why."""


@dataclass(frozen=True)
class CheckedUpload:
    file: Any
    filename: str
    content_type: str
    size: int


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _is_plain_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            return False
    # Markup is refused even under a .txt name, wherever it stands: a browser that sniffs
    # the file, or a viewer that previews it, could render it.
    return _MARKUP.search(text) is None


# Control and format characters (NUL, CR/LF, the bidi overrides that make "gnp.exe" read as
# "exe.png"), surrogates, private and unassigned code points, and line or paragraph separators.
_UNSHOWABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_EDGES = re.compile(r"^[\s.]+|[\s.]+$")


def clean_filename(name: str | None, *, fallback: str = GENERATED_NAME) -> str:
    """The name as shown, for every door (portal, console, e-mail): no folders (either slash),
    no control, format or bidi characters, no leading or trailing dots or spaces, at most 255
    characters with its extension kept. ``fallback`` (cleaned the same way) when nothing is
    left: ".", "..", "", a name of control characters only."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = _EDGES.sub("", "".join(ch for ch in base if unicodedata.category(ch) not in _UNSHOWABLE))
    if not base:
        return clean_filename(fallback) if fallback else ""
    stem, suffix = PurePath(base).stem, PurePath(base).suffix[:16]
    return _EDGES.sub("", stem[: 255 - len(suffix)] + suffix)  # a cut may end on a space


def check_uploads(files: Iterable[Any]) -> list[CheckedUpload]:
    """Validate every file of one message; raise ``UploadError`` on the first bad one."""
    files = [f for f in files if f is not None]
    max_count = settings.ATTACHMENT_MAX_COUNT
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    if len(files) > max_count:
        raise UploadError(f"Attach at most {max_count} files to one message.")
    checked = []
    for upload in files:
        given = clean_filename(getattr(upload, "name", ""), fallback="")
        name = given or GENERATED_NAME
        size = upload.size
        if size == 0:
            raise UploadError(f"{name} is empty.")
        if size > max_bytes:
            raise UploadError(f"{name} is larger than {filesizeformat(max_bytes)}.")
        upload.seek(0)
        head = upload.read(8192)
        upload.seek(0)
        kind = _sniff(head)
        if kind is None:
            data = upload.read()
            upload.seek(0)
            kind = "text" if _is_plain_text(data) else None
        if not given and kind is not None:
            name += KINDS[kind][1][0]  # a made-up name gets the extension of what the file is
        extension = PurePath(name).suffix.lower()
        if kind is None or extension not in KINDS[kind][1]:
            raise UploadError(
                f"{name} is not a file type we accept. Allowed: {', '.join(ALLOWED_EXTENSIONS)}."
            )
        checked.append(CheckedUpload(file=upload, filename=name, content_type=KINDS[kind][0], size=size))
    return checked


def download_response(attachment: Any) -> Any:
    """A stored attachment sent as a download under its shown name and checked type, never
    displayed inline (with ``nosniff`` from the security middleware)."""
    from django.http import FileResponse

    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
