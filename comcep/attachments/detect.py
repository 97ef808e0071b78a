"""Decide a file's type from its bytes, never from its name or the browser's word.

puremagic reads the magic numbers; ZIP containers are opened to tell OpenDocument and
Office Open XML files from plain archives (which are refused); text must decode cleanly.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

import puremagic

from comcep.errors import ComcepError


@dataclass(frozen=True)
class FileType:
    mime: str
    label: str  # French, for cards and filters
    family: str  # pdf | text | sheet | slides | image | csv
    extension: str


PDF = FileType("application/pdf", "PDF", "pdf", ".pdf")
PNG = FileType("image/png", "Image PNG", "image", ".png")
JPEG = FileType("image/jpeg", "Image JPEG", "image", ".jpg")
WEBP = FileType("image/webp", "Image WebP", "image", ".webp")
TEXT = FileType("text/plain", "Texte", "text", ".txt")
CSV = FileType("text/csv", "Tableau CSV", "csv", ".csv")
ODF = {
    "application/vnd.oasis.opendocument.text": FileType(
        "application/vnd.oasis.opendocument.text", "Texte OpenDocument", "text", ".odt"
    ),
    "application/vnd.oasis.opendocument.spreadsheet": FileType(
        "application/vnd.oasis.opendocument.spreadsheet", "Tableur OpenDocument", "sheet", ".ods"
    ),
    "application/vnd.oasis.opendocument.presentation": FileType(
        "application/vnd.oasis.opendocument.presentation",
        "Présentation OpenDocument",
        "slides",
        ".odp",
    ),
}
OOXML = {
    "word/": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Document Word",
        "text",
        ".docx",
    ),
    "xl/": FileType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Classeur Excel",
        "sheet",
        ".xlsx",
    ),
    "ppt/": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "Présentation PowerPoint",
        "slides",
        ".pptx",
    ),
}
_MAGIC = {"application/pdf": PDF, "image/png": PNG, "image/jpeg": JPEG, "image/webp": WEBP}
REFUSED = (
    "Ce type de fichier n'est pas accepté : PDF, documents OpenDocument ou Office, images "
    "PNG, JPEG ou WebP, texte ou CSV seulement."
)


def _zip_type(data: bytes) -> FileType:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        if names and names[0] == "mimetype":
            mime = archive.read("mimetype").decode("ascii", "replace").strip()
            if mime in ODF:
                return ODF[mime]
        if "[Content_Types].xml" in names:
            for prefix, kind in OOXML.items():
                if any(name.startswith(prefix) for name in names):
                    return kind
    # A damaged or encrypted archive: zipfile raises RuntimeError (encrypted), and
    # NotImplementedError (unknown method, version) or zlib.error (a corrupt stream).
    except (
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
    ) as error:
        raise ComcepError(REFUSED) from error
    raise ComcepError("Les archives (ZIP…) ne sont pas acceptées.")


def _text_type(data: bytes, filename: str) -> FileType:
    if b"\x00" in data:
        raise ComcepError(REFUSED)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")  # spreadsheets exported by French Excel
        except UnicodeDecodeError as error:
            raise ComcepError(REFUSED) from error
    head = text.lstrip("\ufeff \t\r\n")[:512].lower()
    if head.startswith(("<", "<?xml", "<!doctype")) or "<script" in head or "<svg" in head:
        raise ComcepError("Les fichiers HTML, SVG ou XML ne sont pas acceptés.")
    if any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text[:4096]):
        raise ComcepError(REFUSED)
    # Both are harmless text: the name only chooses the label.
    return CSV if filename.lower().endswith(".csv") else TEXT


# Other spellings of an accepted extension, kept as the uploader wrote them.
_ALIASES = {".jpeg": ".jpg", ".text": ".txt"}
_BY_MIME = {
    kind.mime: kind for kind in (PDF, PNG, JPEG, WEBP, TEXT, CSV, *ODF.values(), *OOXML.values())
}


def named_as(filename: str, mime: str) -> str:
    """`filename` ending with its detected type's extension: a script sent as text
    (« lancer.bat », « grille.js », HTML past the first lines) is saved as « lancer.bat.txt »
    and opens as text, never as a program, on a double click in the downloads folder."""
    kind = _BY_MIME.get(mime)
    if kind is None:
        return filename
    dot = filename.rfind(".")
    suffix = filename[dot:].lower() if dot > 0 else ""
    if _ALIASES.get(suffix, suffix) == kind.extension:
        return filename
    return filename + kind.extension


def detect(data: bytes, filename: str) -> FileType:
    """The accepted type of `data`, or a ComcepError with a French message."""
    if not data:
        raise ComcepError("Le fichier est vide.")
    try:
        matches = puremagic.magic_string(data)
    except puremagic.PureError:
        matches = []
    mimes = [m.mime_type for m in matches if m.mime_type]
    if data[:4] == b"PK\x03\x04":
        return _zip_type(data)
    for mime in mimes:
        if mime in _MAGIC:
            return _MAGIC[mime]
    if mimes:
        raise ComcepError(REFUSED)
    return _text_type(data, filename)
