"""Files that come with a message: the same checks for the portal, the console and e-mail.

A file is accepted when its content is one of the allowed kinds (checked on the bytes, not
on the name or the browser's word), its name's extension fits that kind, and the request
stays within the size and count limits. One bad file rejects them all: the message is not
stored half-attached. HTML and SVG are never accepted, so nothing we serve back from our
origin can run a script; downloads are sent as attachments with ``nosniff`` anyway.

Zips (and the Office files that are zips) are also checked on their directory, never
unpacked: what they would unpack to, how many files, how tightly packed, nested archives
included, so a small file cannot turn into gigabytes on the disk of whoever opens it.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


# Archives inside an archive are read up to this depth (an Office file with an embedded workbook
# is one level); deeper nesting has no use but hiding a bomb, so it is refused.
ZIP_MAX_DEPTH = 3
# Below this many unpacked bytes the ratio is not checked: a small, very repetitive log packs
# far past any sane ratio and harms nobody.
ZIP_RATIO_FLOOR = 1024 * 1024
# What a hostile zip can make zipfile raise while reading its directory or an entry.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
               NotImplementedError, RuntimeError, OverflowError, IndexError, KeyError)  # fmt: skip


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


class _ZipTally:
    def __init__(self, name: str, packed_size: int) -> None:
        self.name = name
        self.packed_size = packed_size
        self.unpacked = 0
        self.entries = 0

    def add(self, info: zipfile.ZipInfo) -> None:
        self.entries += 1
        self.unpacked += info.file_size
        max_entries = settings.ATTACHMENT_ZIP_MAX_ENTRIES
        max_unpacked = settings.ATTACHMENT_ZIP_MAX_UNPACKED_BYTES
        max_ratio = settings.ATTACHMENT_ZIP_MAX_RATIO
        if self.entries > max_entries:
            raise UploadError(
                ngettext(
                    "%(name)s holds more than %(count)s file.",
                    "%(name)s holds more than %(count)s files.",
                    max_entries,
                )
                % {"name": self.name, "count": max_entries}
            )
        if self.unpacked > max_unpacked:
            raise UploadError(
                # Translators: %(name)s is a file name, %(size)s a size such as "10 MB".
                _("%(name)s unpacks to more than %(size)s.")
                % {"name": self.name, "size": filesizeformat(max_unpacked)}
            )
        if self.unpacked > ZIP_RATIO_FLOOR and self.unpacked > max_ratio * self.packed_size:
            raise UploadError(
                _("%(name)s unpacks to more than %(ratio)s times its size; send it less packed.")
                % {"name": self.name, "ratio": max_ratio}
            )


def _check_zip(file: Any, tally: _ZipTally, depth: int = 0) -> None:
    """Read the archive's central directory (nothing is extracted) and add up its entries.

    The sizes are the ones the directory declares, which a forged zip can understate: the
    check bounds what an extractor that honours them (as zipfile and most tools do) writes,
    not what a lying stream might hold. Nested archives (found by their bytes, whatever their
    name) are read the same way when they are within the file size limit; a bigger one counts
    its declared size and is refused, since its contents could not be checked.
    """
    with zipfile.ZipFile(file) as archive:
        for info in archive.infolist():
            tally.add(info)
            if info.is_dir() or info.file_size < 4 or info.flag_bits & 0x1:
                continue  # an encrypted entry cannot be looked into; its declared size counts
            with archive.open(info) as member:
                if member.read(4) != b"PK\x03\x04":
                    continue
                if depth + 1 > ZIP_MAX_DEPTH:
                    raise UploadError(
                        _("%(name)s holds archives nested more than %(depth)s deep.")
                        % {"name": tally.name, "depth": ZIP_MAX_DEPTH}
                    )
                max_bytes = settings.ATTACHMENT_MAX_BYTES
                if info.file_size > max_bytes:
                    too_big = filesizeformat(max_bytes)
                    raise UploadError(
                        _("%(name)s holds an archive larger than %(size)s.")
                        % {"name": tally.name, "size": too_big}
                    )
                # zipfile stops at the declared size, so this reads at most ATTACHMENT_MAX_BYTES.
                inner = b"PK\x03\x04" + member.read(max_bytes)
            _check_zip(io.BytesIO(inner), tally, depth + 1)


def _check_archive(upload: Any, name: str) -> None:
    upload.seek(0)
    try:
        _check_zip(upload, _ZipTally(name, upload.size))
    except UploadError:
        raise  # a ValueError too, but already the message to show
    except _ZIP_ERRORS:
        raise UploadError(_("%(name)s is a damaged or unreadable archive.") % {"name": name}) from None
    finally:
        upload.seek(0)


def check_uploads(files: Iterable[Any]) -> list[CheckedUpload]:
    """Validate every file of one message; raise ``UploadError`` on the first bad one."""
    files = [f for f in files if f is not None]
    max_count = settings.ATTACHMENT_MAX_COUNT
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    if len(files) > max_count:
        raise UploadError(
            ngettext(
                "Attach at most %(count)s file to one message.",
                "Attach at most %(count)s files to one message.",
                max_count,
            )
            % {"count": max_count}
        )
    checked = []
    for upload in files:
        given = clean_filename(getattr(upload, "name", ""), fallback="")
        name = given or GENERATED_NAME
        size = upload.size
        if size == 0:
            raise UploadError(_("%(name)s is empty.") % {"name": name})
        if size > max_bytes:
            raise UploadError(
                _("%(name)s is larger than %(size)s.") % {"name": name, "size": filesizeformat(max_bytes)}
            )
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
                # Translators: %(extensions)s is a list of file extensions, e.g. ".png, .pdf".
                _("%(name)s is not a file type we accept. Allowed: %(extensions)s.")
                % {"name": name, "extensions": ", ".join(ALLOWED_EXTENSIONS)}
            )
        if kind == "zip":
            _check_archive(upload, name)
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
