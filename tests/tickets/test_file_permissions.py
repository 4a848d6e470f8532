"""Stored attachments and their folders are private to the service user (no access for others)."""

import os
import stat
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from tickets.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # not there yet: the storage makes every folder
    return settings.MEDIA_ROOT


@pytest.fixture
def open_umask():
    """The umask only takes bits away; a lax one shows what the settings themselves give."""
    old = os.umask(0o002)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(path: Path, *, most: int) -> None:
    got = mode(path)
    assert got & stat.S_IRWXO == 0, f"{path} is {oct(got)}: others may read it"
    assert got & stat.S_IWGRP == 0, f"{path} is {oct(got)}: its group may write it"
    assert got & ~most == 0, f"{path} is {oct(got)}, more than {oct(most)}"


@pytest.mark.parametrize("kind", ["in memory", "spooled to disk"])
def test_a_stored_attachment_and_its_folders_are_private(new_ticket, media, open_umask, kind):
    if kind == "in memory":
        file = SimpleUploadedFile("screenshot.png", PNG)
    else:  # a large upload is moved into place, not written: it must end up private as well
        file = TemporaryUploadedFile("screenshot.png", "image/png", len(PNG), None)
        file.write(PNG)
        file.seek(0)
    ticket = new_ticket(attachments=[file])
    stored = Path(Attachment.objects.get(entry__ticket=ticket).file.path)
    assert stored.read_bytes() == PNG
    assert_private(stored, most=0o640)
    for folder in (stored.parent, media):
        assert_private(folder, most=0o750)
