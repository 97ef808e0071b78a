"""Reading uploads (before any database write), storing them, thumbnails, garbage collection."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from flask import current_app
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from comcep.attachments.detect import FileType, detect, named_as
from comcep.attachments.models import Attachment
from comcep.attachments.storage import get_storage
from comcep.errors import ComcepError
from comcep.extensions import db, utcnow
from comcep.filters import number_fr
from comcep.members.models import Member

MAX_FILES = 5
THUMBNAIL_SIZE = (480, 480)


@dataclass(frozen=True)
class Upload:
    """A checked file, held in memory until the post is written."""

    filename: str
    data: bytes
    kind: FileType


def safe_filename(name: str) -> str:
    """Keep accents, drop paths and control characters: « ../Grille d'entretien.pdf » →
    « Grille d'entretien.pdf »."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    return name[:150] or "fichier"


def read_uploads(files: list[FileStorage]) -> list[Upload]:
    """Read and check every file before anything is written (no lock held while reading)."""
    for file in files:
        # A browser sends an empty part with no name when no file is chosen; bytes without
        # a name come from elsewhere and are refused rather than silently dropped.
        if file is not None and not (file.filename or "").strip() and file.stream.read(1):
            raise ComcepError("Un des fichiers envoyés n'a pas de nom : choisissez-le de nouveau.")
    files = [f for f in files if f and f.filename]
    if len(files) > MAX_FILES:
        raise ComcepError(f"{MAX_FILES} fichiers au plus par message.")
    limit = current_app.config["UPLOAD_MAX_MB"] * 1024 * 1024
    uploads = []
    for file in files:
        name = safe_filename(file.filename or "")
        data = file.stream.read(limit + 1)
        if len(data) > limit:
            raise ComcepError(
                f"« {name} » dépasse la taille permise ({current_app.config['UPLOAD_MAX_MB']} Mo)."
            )
        try:
            kind = detect(data, name)
        except ComcepError as error:
            raise ComcepError(f"« {name} » : {error.message}") from error
        if kind.family == "image":
            _check_image(data, name)
        uploads.append(Upload(filename=named_as(name, kind.mime), data=data, kind=kind))
    return uploads


def _check_image(data: bytes, name: str) -> None:
    """A readable image of at most UPLOAD_MAX_PIXELS: a few bytes may announce a picture whose
    thumbnail would take gigabytes to decode (a « decompression bomb »)."""
    most = current_app.config["UPLOAD_MAX_PIXELS"]
    millions = number_fr(most / 1_000_000)
    too_big = ComcepError(
        f"« {name} » est une image trop grande (plus de {millions} millions de pixels) : "
        "réduisez-la avant de l'envoyer."
    )
    try:
        # Opening reads only the header; Pillow refuses (or warns about) a size far beyond
        # its own limit there, before any pixel is decoded.
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > most:
                raise too_big
            image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise too_big from error
    # IndexError: Pillow's verify() of a PNG without pixel data (no IDAT chunk).
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, IndexError) as error:
        raise ComcepError(f"« {name} » n'est pas une image lisible.") from error


def _thumbnail(data: bytes) -> bytes | None:
    """A JPEG preview; the image passed `_check_image`, so its size is bounded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None


def attach(actor: Member, post_id: int, uploads: list[Upload]) -> list[Attachment]:
    storage = get_storage()
    attachments = []
    for upload in uploads:
        key = storage.put(upload.data)
        thumb = _thumbnail(upload.data) if upload.kind.family == "image" else None
        attachment = Attachment(
            post_id=post_id,
            uploader_id=actor.id,
            filename=upload.filename,
            mime=upload.kind.mime,
            label=upload.kind.label,
            family=upload.kind.family,
            size=len(upload.data),
            key=key,
            thumbnail_key=storage.put(thumb) if thumb else "",
            created_at=utcnow(),
        )
        db.session.add(attachment)
        attachments.append(attachment)
    db.session.flush()
    return attachments


def garbage_collect() -> int:
    """Remove stored files that no attachment refers to (`comcep attachments gc`)."""
    storage = get_storage()
    used = set(db.session.scalars(select(Attachment.key)))
    used |= set(db.session.scalars(select(Attachment.thumbnail_key)))
    removed = 0
    for key in storage.keys() - used:
        storage.delete(key)
        removed += 1
    return removed
