"""Attached files: what is accepted, what is refused and why, and what a refusal leaves (nothing)."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tickets import services
from tickets.models import Attachment, ThreadEntry, Ticket, TicketTransition
from tickets.uploads import UploadError, check_uploads, clean_filename

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
MiB = 1024 * 1024


def zipped(files: dict[str, bytes], *, level: int = 9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zeros_zip(name: str, size: int) -> bytes:
    """A zip of one file of ``size`` zero bytes, written in pieces (deflate packs ~1000:1)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for _ in range(size // MiB):
            member.write(bytes(MiB))
        member.write(bytes(size % MiB))
    return buffer.getvalue()


# A Word file as Word writes it: a zip of XML parts (mimetype-free, so _sniff sees PK\x03\x04).
DOCX = zipped(
    {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/content-types"/>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
        "word/document.xml": b'<?xml version="1.0"?><w:document><w:body>'
        + b"<w:p>Hello</w:p>" * 200
        + b"</w:body></w:document>",
    }
)
TEXT = "Router log: connexion refusée à 09:14\n".encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(64))


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# check_uploads: accepted ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("screenshot.png", PNG, "image/png"),
        ("SCREENSHOT.PNG", PNG, "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.jpeg", JPEG, "image/jpeg"),
        ("statement.pdf", PDF, "application/pdf"),
        ("notes.txt", TEXT, "text/plain"),
        ("report.docx", DOCX, "application/zip"),
        ("logs.zip", zipped({"a.log": TEXT * 50, "b.csv": b"when,what\n" * 100}), "application/zip"),
    ],
)
def test_a_real_file_of_an_allowed_kind_is_accepted_with_the_type_found_in_its_bytes(
    name, content, content_type
):
    [checked] = check_uploads([upload(name, content)])
    assert checked.filename == name
    assert checked.content_type == content_type
    assert checked.size == len(content)


def test_the_file_is_left_rewound_so_it_can_be_stored_whole():
    file = upload("notes.txt", TEXT)
    [checked] = check_uploads([file])
    assert checked.file.read() == TEXT


def test_the_browser_s_content_type_is_not_believed():
    file = SimpleUploadedFile("notes.txt", TEXT, content_type="text/html")
    [checked] = check_uploads([file])
    assert checked.content_type == "text/plain"


def test_several_good_files_are_all_accepted_in_order():
    checked = check_uploads([upload("a.png", PNG), upload("b.pdf", PDF), None, upload("c.txt", TEXT)])
    assert [c.filename for c in checked] == ["a.png", "b.pdf", "c.txt"]


def test_no_files_is_fine():
    assert check_uploads([]) == []


# check_uploads: refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.txt", b"<!doctype html><html><script>alert(1)</script></html>"),
        ("page.txt", b"  \n<HTML><body onload=alert(1)></body></HTML>"),
        ("page.log", b"<script>alert(1)</script>"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("drawing.txt", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("page.html", b"<!doctype html><p>hi</p>"),
        ("fake.png", b"this is not really a picture"),
        ("fake.pdf", b"plain words in a pdf's clothing"),
        ("screenshot.jpg", PNG),
        ("statement.txt", PDF),
        ("setup.exe", EXE),
        ("setup.txt", EXE),
        ("blob.bin", bytes(range(256))),
        ("noextension", TEXT),
    ],
)
def test_a_file_whose_bytes_or_name_are_not_an_allowed_kind_is_refused_by_name(name, content):
    with pytest.raises(UploadError, match="not a file type we accept") as refused:
        check_uploads([upload(name, content)])
    assert name in str(refused.value)


def test_an_empty_file_is_refused_by_name():
    with pytest.raises(UploadError, match="is empty") as refused:
        check_uploads([upload("empty.txt", b"")])
    assert "empty.txt" in str(refused.value)


def test_a_file_over_the_size_limit_is_refused_by_name_and_one_at_the_limit_is_not(settings):
    settings.ATTACHMENT_MAX_BYTES = len(PNG)
    assert check_uploads([upload("exact.png", PNG)])
    with pytest.raises(UploadError, match="is larger than") as refused:
        check_uploads([upload("big.png", PNG + b"\x00")])
    assert "big.png" in str(refused.value)


def test_more_files_than_the_count_limit_are_refused_and_the_limit_itself_is_not(settings):
    settings.ATTACHMENT_MAX_COUNT = 2
    assert len(check_uploads([upload("a.png", PNG), upload("b.png", PNG)])) == 2
    with pytest.raises(UploadError, match="at most 2 files"):
        check_uploads([upload("a.png", PNG), upload("b.png", PNG), upload("c.png", PNG)])


def test_one_bad_file_among_good_ones_refuses_them_all_naming_the_bad_one():
    with pytest.raises(UploadError) as refused:
        check_uploads([upload("a.png", PNG), upload("evil.txt", b"<!doctype html>"), upload("c.pdf", PDF)])
    message = str(refused.value)
    assert "evil.txt" in message
    assert "a.png" not in message and "c.pdf" not in message


def test_the_error_names_the_file_by_its_cleaned_name():
    with pytest.raises(UploadError) as refused:
        check_uploads([upload("../../secret/page.txt", b"<html>")])
    assert "page.txt" in str(refused.value)
    assert ".." not in str(refused.value)


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbf<!doctype html><script>alert(1)</script>",
        b"<!-- hi --><html><script>alert(1)</script></html>",
        b"<body onload=alert(1)>",
        b"<iframe src=https://evil.example></iframe>",
    ],
)
def test_html_under_a_text_name_is_refused_whatever_comes_first(content):
    with pytest.raises(UploadError):
        check_uploads([upload("page.txt", content)])


# clean_filename -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\x\\y.txt", "y.txt"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("report\r\nSet-Cookie: x=1.txt", "reportSet-Cookie: x=1.txt"),
        ("tab\tand\x00nul\x1b.txt", "tabandnul.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("  spaced.txt  ", "spaced.txt"),
        ("<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"),
        ("", "file"),
        ("...", "file"),
        ("../", "file"),
    ],
)
def test_a_file_name_is_shown_without_folders_or_control_characters(raw, shown):
    assert clean_filename(raw) == shown


def test_a_very_long_file_name_is_cut_to_255_characters_keeping_its_extension():
    cleaned = clean_filename("a" * 400 + ".pdf")
    assert len(cleaned) == 255
    assert cleaned.endswith(".pdf")


def test_a_very_long_name_without_extension_is_cut_to_255_characters():
    assert clean_filename("b" * 400) == "b" * 255


def test_a_very_long_extension_cannot_push_the_name_over_255_characters():
    cleaned = clean_filename("c" * 300 + "." + "d" * 300)
    assert len(cleaned) <= 255
    assert cleaned.startswith("ccc")


# through the service --------------------------------------------------------------------------


def counts() -> tuple[int, int, int, int]:
    return (
        Ticket.objects.count(),
        ThreadEntry.objects.count(),
        TicketTransition.objects.count(),
        Attachment.objects.count(),
    )


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_ticket_keeps_its_files_with_the_found_type_under_a_generated_name(new_ticket, media):
    ticket = new_ticket(
        attachments=[upload("my-screenshot.png", PNG), upload("bank-statement.pdf", PDF)],
    )
    message = ticket.thread.get(kind=ThreadEntry.Kind.MESSAGE)
    attachments = {a.filename: a for a in message.attachments.all()}
    assert set(attachments) == {"my-screenshot.png", "bank-statement.pdf"}

    png, pdf = attachments["my-screenshot.png"], attachments["bank-statement.pdf"]
    assert (png.content_type, png.size) == ("image/png", len(PNG))
    assert (pdf.content_type, pdf.size) == ("application/pdf", len(PDF))
    for attachment, original in ((png, "my-screenshot"), (pdf, "bank-statement")):
        assert original not in attachment.file.name
        assert attachment.file.name.startswith("attachments/")
    assert png.file.name != pdf.file.name
    with png.file.open("rb") as f:
        assert f.read() == PNG
    assert len(stored_files(media)) == 2


def test_a_hostile_file_name_is_kept_only_as_the_shown_name(new_ticket, media):
    ticket = new_ticket(attachments=[upload("../../<img src=x onerror=alert(1)>.png", PNG)])
    attachment = Attachment.objects.get(entry__ticket=ticket)
    assert attachment.filename == "<img src=x onerror=alert(1)>.png"
    assert "<" not in attachment.file.name and ".." not in attachment.file.name
    [stored] = stored_files(media)
    assert stored.is_relative_to(media)
    assert stored.suffix == ".png"


def test_one_bad_file_refuses_the_whole_ticket_and_stores_nothing(new_ticket, media):
    new_ticket()  # something already there, so "nothing added" is not "nothing at all"
    before = counts()
    with pytest.raises(services.TicketActionError, match="evil.txt"):
        new_ticket(
            subject="Files",
            attachments=[upload("good.png", PNG), upload("evil.txt", b"<!doctype html><script>")],
        )
    assert counts() == before
    assert stored_files(media) == []


def test_too_many_files_refuse_the_ticket_and_store_nothing(new_ticket, settings, media):
    settings.ATTACHMENT_MAX_COUNT = 1
    before = counts()
    with pytest.raises(services.TicketActionError, match="at most 1"):
        new_ticket(attachments=[upload("a.png", PNG), upload("b.png", PNG)])
    assert counts() == before
    assert stored_files(media) == []


# Archives: checked on their directory -------------------------------------------------------------


def test_a_zip_bomb_is_refused_on_its_directory_without_being_unpacked():
    bomb = zeros_zip("data.bin", 200 * MiB)  # the case: ~200 KB that unpacks to 200 MiB
    assert len(bomb) < 400 * 1024
    with pytest.raises(UploadError, match=r"unpacks to more than 100.0\sMB") as refused:
        check_uploads([upload("backup.zip", bomb)])
    assert "backup.zip" in str(refused.value)


def test_an_archive_at_the_unpacked_limit_is_accepted_and_one_byte_over_is_not(settings):
    settings.ATTACHMENT_ZIP_MAX_RATIO = 10**6
    settings.ATTACHMENT_ZIP_MAX_UNPACKED_BYTES = 2000
    assert check_uploads([upload("ok.zip", zipped({"a.txt": b"a" * 1000, "b.txt": b"b" * 1000}))])
    with pytest.raises(UploadError, match="unpacks to more than 2.0"):
        check_uploads([upload("big.zip", zipped({"a.txt": b"a" * 1000, "b.txt": b"b" * 1001}))])


def test_a_zip_that_packs_too_tightly_is_refused_by_its_ratio():
    packed = zeros_zip("zeros.bin", 5 * MiB)  # under the size limit, but ~1000 times its size
    with pytest.raises(UploadError, match="unpacks to more than 100 times its size") as refused:
        check_uploads([upload("zeros.zip", packed)])
    assert "zeros.zip" in str(refused.value)


def test_a_zip_of_too_many_entries_is_refused_and_one_at_the_limit_is_not(settings):
    settings.ATTACHMENT_ZIP_MAX_ENTRIES = 10
    assert check_uploads([upload("ten.zip", zipped({f"{i}.txt": b"x" for i in range(10)}))])
    with pytest.raises(UploadError, match="more than 10 files"):
        check_uploads([upload("eleven.zip", zipped({f"{i}.txt": b"x" for i in range(11)}))])


def test_the_files_of_nested_archives_count_toward_the_limits(settings):
    settings.ATTACHMENT_ZIP_MAX_RATIO = 10**6
    settings.ATTACHMENT_ZIP_MAX_UNPACKED_BYTES = 1 * MiB
    inner = zeros_zip("part.bin", 200 * 1024)  # each well under the limit, ten of them over it
    outer = zipped({f"part{i}.zip": inner for i in range(10)})
    with pytest.raises(UploadError, match=r"unpacks to more than 1.0\sMB"):
        check_uploads([upload("parts.zip", outer)])

    settings.ATTACHMENT_ZIP_MAX_UNPACKED_BYTES = 100 * MiB
    settings.ATTACHMENT_ZIP_MAX_ENTRIES = 15
    many = zipped({f"{i}.txt": b"x" for i in range(10)})
    with pytest.raises(UploadError, match="more than 15 files"):
        check_uploads([upload("two.zip", zipped({"a.zip": many, "b.zip": many}))])


def test_a_nested_archive_is_found_by_its_bytes_not_its_name(settings):
    settings.ATTACHMENT_ZIP_MAX_RATIO = 10**6
    settings.ATTACHMENT_ZIP_MAX_UNPACKED_BYTES = 1 * MiB
    outer = zipped({f"part{i}.dat": zeros_zip("part.bin", 200 * 1024) for i in range(10)})
    with pytest.raises(UploadError, match=r"unpacks to more than 1.0\sMB"):
        check_uploads([upload("parts.zip", outer)])


def test_archives_nested_too_deep_are_refused():
    archive = zipped({"notes.txt": TEXT})
    for _ in range(3):  # three levels inside the upload are fine
        archive = zipped({"inner.zip": archive})
    assert check_uploads([upload("three.zip", archive)])
    with pytest.raises(UploadError, match="nested more than 3 deep"):
        check_uploads([upload("four.zip", zipped({"inner.zip": archive}))])


def test_an_office_file_with_an_embedded_workbook_is_accepted():
    xlsx = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>" * 50})
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/embeddings/sheet1.xlsx": xlsx})
    [checked] = check_uploads([upload("report.docx", docx)])
    assert checked.content_type == "application/zip"
    assert checked.file.read() == docx  # left rewound


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + bytes(range(32)),  # no directory
        zipped({"a.txt": TEXT * 20})[:-30],  # cut short
        b"PK\x03\x04" + bytes(2000),
    ],
)
def test_a_damaged_archive_is_refused_by_name(content):
    with pytest.raises(UploadError, match="damaged or unreadable archive") as refused:
        check_uploads([upload("report.docx", content)])
    assert "report.docx" in str(refused.value)


def test_a_zip_bomb_refuses_the_ticket_and_stores_nothing(new_ticket, media):
    before = counts()
    with pytest.raises(services.TicketActionError, match="bomb.zip unpacks to more than"):
        new_ticket(attachments=[upload("good.png", PNG), upload("bomb.zip", zeros_zip("x", 200 * MiB))])
    assert counts() == before
    assert stored_files(media) == []
