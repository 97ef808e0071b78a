"""Issue 11: shared tools as attachments, réponse retenue, mots-clés — through the wall."""

from __future__ import annotations

import gc
import io
import re
import struct
import warnings
import zipfile
import zlib
from html import unescape

import pytest
from PIL import Image
from sqlalchemy import func, select

from comcep.attachments.models import Attachment
from comcep.extensions import db
from comcep.forum.models import Post, Topic, topic_tags
from tests.factories import make_reply, make_topic

# Werkzeug's test EnvironBuilder spools a multipart body over 500 kB (the 10 MB upload) to a
# temporary file it never closes; the app closes its own files (Flask closes the request).
pytestmark = pytest.mark.filterwarnings("ignore:Exception ignored in. <_io.FileIO")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w/>")
    return buffer.getvalue()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "x")
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), "navy").save(buffer, "PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A 67-byte PNG announcing width × height pixels: Pillow reads the size when it opens
    the file, before any pixel (a « decompression bomb » needs no more)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def _fetch(client, url):  # noqa: ANN001, ANN202
    """GET a file and close the response (send_file keeps the file open until then)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def _new_topic(client, files, title="Ma grille d'entretien", slug="je-partage-mes-outils", **extra):
    data = {"title": title, "body": "Voici mon outil.", "submit": "1", **extra}
    data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(f"/r/{slug}/nouveau-sujet", data=data, content_type="multipart/form-data")


def test_a_form_shown_again_asks_for_its_files_again(members, client_for):
    """A browser never refills a file field: after « Prévisualiser » or a refusal, the page
    names the files to join again instead of publishing without them unawares."""
    client = client_for(members["pair"])
    files = [("grille.pdf", PDF), ("photo.png", _png())]
    again = "joignez de nouveau « grille.pdf », « photo.png » avant de publier."
    preview = _new_topic(client, files, submit="", preview="1")
    assert preview.status_code == 200
    assert again in unescape(preview.text)
    refused = _new_topic(client, files, title="Bref")  # a title too short
    assert refused.status_code == 400
    assert again in unescape(refused.text)
    assert "joignez de nouveau" not in client.get("/r/je-partage-mes-outils/nouveau-sujet").text
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    topic = make_topic(members["other_pair"], slug="je-partage-mes-outils")
    data = {"body": "Ma réponse.", "preview": "1", "attachments": [(io.BytesIO(PDF), "a.pdf")]}
    reply = client.post(f"/t/{topic.id}/repondre", data=data, content_type="multipart/form-data")
    assert "joignez de nouveau « a.pdf » avant de publier." in unescape(reply.text)


def test_a_pair_shares_a_pdf_and_another_pair_downloads_the_same_bytes(members, client_for):
    response = _new_topic(client_for(members["pair"]), [("Grille d’entretien é.pdf", PDF)])
    assert response.status_code == 302
    attachment = db.session.scalar(select(Attachment))
    reader = client_for(members["other_pair"])
    download = _fetch(reader, f"/pj/{attachment.id}/{attachment.filename}")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''Grille%20d%E2%80%99entretien%20%C3%A9.pdf"
        in (download.headers["Content-Disposition"])
    )
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert "Grille d’entretien é.pdf" in reader.get("/outils").text


def test_a_hors_pair_gets_404_on_a_pairs_file_and_never_sees_it_in_outils(members, client_for):
    _new_topic(client_for(members["pair"]), [("grille.pdf", PDF)])
    attachment = db.session.scalar(select(Attachment))
    outsider = client_for(members["hors_pair"])
    hidden = outsider.get(f"/pj/{attachment.id}/grille.pdf")
    missing = outsider.get(f"/pj/{attachment.id + 999}/grille.pdf")
    assert hidden.status_code == missing.status_code == 404
    assert "grille.pdf" not in outsider.get("/outils").text


def test_a_hidden_post_hides_its_files(members, client_for):
    _new_topic(client_for(members["pair"]), [("grille.pdf", PDF)])
    attachment = db.session.scalar(select(Attachment))
    post = db.session.get(Post, attachment.post_id)
    client_for(members["animation"]).post(f"/p/{post.id}/masquer", data={"reason": "Test"})
    assert client_for(members["other_pair"]).get(f"/pj/{attachment.id}/x").status_code == 404
    assert _fetch(client_for(members["animation"]), f"/pj/{attachment.id}/x").status_code == 200


def test_the_author_of_a_hidden_post_still_sees_and_fetches_its_files(members, client_for):
    """The author reads their hidden post with its reason: its files come along, as for staff."""
    _new_topic(client_for(members["pair"]), [("grille.pdf", PDF)])
    attachment = db.session.scalar(select(Attachment))
    post = db.session.get(Post, attachment.post_id)
    client_for(members["animation"]).post(f"/p/{post.id}/masquer", data={"reason": "Test"})
    author = client_for(members["pair"])
    page = author.get(f"/t/{post.topic_id}")
    assert f"/pj/{attachment.id}/" in page.text
    assert _fetch(author, f"/pj/{attachment.id}/grille.pdf").status_code == 200
    other = client_for(members["other_pair"])
    assert f"/pj/{attachment.id}/" not in other.get(f"/t/{post.topic_id}").text
    assert other.get(f"/pj/{attachment.id}/grille.pdf").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("outil.pdf", b"MZ\x90\x00" + b"\x00" * 200, "pas accepté"),
        (
            "dessin.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
            "pas accepté",
        ),
        ("page.txt", b"<html><body><script>alert(1)</script></body></html>", "pas accepté"),
        ("archive.docx", _zip(), "archives"),
        ("vide.pdf", b"", "vide"),
        ("gros.txt", b"a" * (10 * 2**20 + 1), "dépasse"),
        # 900 Mpx: Pillow raises as it opens the file; 100 Mpx: it only warns (an error
        # under pytest, a log line in production); 49 Mpx: over UPLOAD_MAX_PIXELS only.
        ("plan.png", _png_header_only(30_000, 30_000), "image trop grande"),
        ("plan.png", _png_header_only(10_000, 10_000), "image trop grande"),
        pytest.param(
            "plan.png",
            _png_header_only(10_000, 10_000),
            "image trop grande",
            marks=pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
        ),
        ("plan.png", _png_header_only(7_000, 7_000), "image trop grande"),
    ],
    ids=[
        "exe-renamed-pdf",
        "svg-script",
        "html-as-text",
        "plain-zip",
        "empty",
        "oversized",
        "decompression-bomb",
        "bomb-pillow-warns-raised",
        "bomb-pillow-warns-ignored",
        "over-the-pixel-limit",
    ],
)
def test_bad_files_are_refused_with_a_french_message_and_nothing_stored(
    members, client_for, name, content, message
):
    response = _new_topic(client_for(members["pair"]), [(name, content)], title="Titre gardé")
    assert response.status_code == 400
    assert message in response.text
    assert "Titre gardé" in response.text  # the form keeps what was typed
    assert db.session.scalar(select(func.count(Topic.id))) == 0
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    # Werkzeug's test client spools a body over 500 KB to a temporary file that it never
    # closes; collect it here, where it was made, instead of letting its ResourceWarning
    # fail whichever later test the garbage collector happens to run in.
    del response
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_the_file_field_states_the_size_limit_before_any_upload(
    app, members, client_for, monkeypatch
) -> None:
    """The limit showed only in the refusal of a file over it (review of stop 52)."""
    monkeypatch.setitem(app.config, "UPLOAD_MAX_MB", 7)
    form = client_for(members["pair"]).get("/r/je-partage-mes-outils/nouveau-sujet").text
    assert "7 Mo au plus par fichier." in form


def test_the_largest_image_accepted_is_a_setting(app, members, client_for, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_PIXELS", 200_000)  # the PNG has 240 000
    response = _new_topic(client_for(members["pair"]), [("photo.png", _png())])
    assert response.status_code == 400
    assert "« photo.png » est une image trop grande (plus de 0,2 millions de pixels)" in (
        unescape(response.text)
    )
    monkeypatch.setitem(app.config, "UPLOAD_MAX_PIXELS", 240_000)
    assert _new_topic(client_for(members["pair"]), [("photo.png", _png())]).status_code == 302


def test_a_reply_whose_file_is_refused_answers_400_and_keeps_the_text(members, client_for):
    """The refusal rolls the session back: the page read the topic's rubrique from an expired
    topic, and a refused file in a reply ended in a server error."""
    topic = make_topic(members["pair"], slug="je-partage-mes-outils")
    empty = [(io.BytesIO(b""), "a.pdf")]
    data = {"body": "Ma réponse gardée.", "submit": "1", "attachments": empty}
    response = client_for(members["other_pair"]).post(
        f"/t/{topic.id}/repondre", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "Le fichier est vide." in response.text
    assert "Ma réponse gardée." in response.text
    assert db.session.scalar(select(func.count(Post.id))) == 1


def test_a_sixth_file_is_refused(app):
    from werkzeug.datastructures import FileStorage

    from comcep.attachments.services import read_uploads
    from comcep.errors import ComcepError

    files = [FileStorage(io.BytesIO(b"texte"), filename=f"{i}.txt") for i in range(6)]
    with app.test_request_context(), pytest.raises(ComcepError, match="5 fichiers au plus"):
        read_uploads(files)
    assert len(read_uploads(files[:5])) == 5


def test_types_come_from_the_bytes_and_names_are_made_safe(members, client_for):
    files = [
        ("../../etc/liste\x07.csv", "nom;prénom\nA;B\n".encode()),
        ("rapport.bin", _docx()),
        ("photo.pdf", _png()),
    ]
    assert _new_topic(client_for(members["pair"]), files).status_code == 302
    rows = {a.filename: a for a in db.session.scalars(select(Attachment))}
    # Each name ends with its detected type's extension, so a file opens as what it is.
    assert set(rows) == {"liste.csv", "rapport.bin.docx", "photo.pdf.png"}
    assert rows["liste.csv"].mime == "text/csv"
    assert rows["rapport.bin.docx"].label == "Document Word"
    assert rows["photo.pdf.png"].mime == "image/png"
    assert rows["photo.pdf.png"].thumbnail_key
    thumb = _fetch(
        client_for(members["other_pair"]), f"/pj/{rows['photo.pdf.png'].id}/apercu/miniature.jpg"
    )
    assert thumb.status_code == 200
    assert thumb.mimetype == "image/jpeg"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        # A Windows batch file and a JScript one are harmless text by their bytes, and run
        # on a double click under their own names.
        ("lancer-la-grille.bat", b"@echo off\r\nstart calc.exe\r\n"),
        ("grille.js", b"var s = new ActiveXObject('WScript.Shell'); s.Run('calc.exe');\r\n"),
        # HTML past the first 512 characters is text by the check, and a page once saved.
        ("grille.html", b"Grille d'entretien\n" + b"x" * 600 + b"\n<script>alert(1)</script>\n"),
    ],
    ids=["bat", "js", "html"],
)
def test_a_file_is_saved_under_its_detected_type_s_extension(
    members, client_for, name: str, content: bytes
):
    assert _new_topic(client_for(members["pair"]), [(name, content)]).status_code == 302
    attachment = db.session.scalar(select(Attachment))
    assert (attachment.mime, attachment.filename) == ("text/plain", f"{name}.txt")
    download = _fetch(client_for(members["other_pair"]), f"/pj/{attachment.id}/x")
    assert download.status_code == 200
    assert f"filename={name}.txt" in download.headers["Content-Disposition"]


def test_a_file_kept_under_an_older_name_is_still_saved_as_its_type(members, client_for):
    """Files stored before names took their type's extension are named so when fetched."""
    _new_topic(client_for(members["pair"]), [("notes.txt", b"Quelques notes.\n")])
    attachment = db.session.scalar(select(Attachment))
    attachment.filename = "notes.cmd"
    db.session.commit()
    download = _fetch(client_for(members["other_pair"]), f"/pj/{attachment.id}/notes.cmd")
    assert "filename=notes.cmd.txt" in download.headers["Content-Disposition"]
    # Asked again each time: not kept fresh after a logout or once behind the wall.
    assert download.headers["Cache-Control"] == "private, no-cache"


def test_attachments_gc_removes_only_unreferenced_files(app, members, client_for, runner):
    _new_topic(client_for(members["pair"]), [("grille.pdf", PDF)])
    orphan = app.config["UPLOAD_PATH"] + "/ab/cd/" + "ab" + "cd" + "0" * 60
    import os

    os.makedirs(os.path.dirname(orphan), exist_ok=True)
    with open(orphan, "wb") as handle:
        handle.write(b"orphelin")
    result = runner.invoke(args=["attachments", "gc"])
    assert "supprimé(s)" in result.output
    assert not os.path.exists(orphan)  # files left by earlier tests go too

    attachment = db.session.scalar(select(Attachment))
    assert _fetch(client_for(members["pair"]), f"/pj/{attachment.id}/x").status_code == 200


def test_the_asker_marks_a_solution_and_lists_show_resolu(members, client_for):
    topic = make_topic(members["pair"], slug="premier-entretien", title="Un cas de VAE")
    answer = make_reply(members["other_pair"], topic, "La réponse utile.")
    assert client_for(members["pilot_pair"]).post(f"/p/{answer.id}/solution").status_code == 403
    assert client_for(members["other_pair"]).post(f"/p/{answer.id}/solution").status_code == 403
    assert client_for(members["pair"]).post(f"/p/{answer.id}/solution").status_code == 302
    page = client_for(members["pilot_pair"]).get("/r/premier-entretien").text
    assert "Résolu" in page
    topic_page = client_for(members["pilot_pair"]).get(f"/t/{topic.id}").text
    assert "Réponse retenue" in topic_page
    assert "Un cas de VAE" not in client_for(members["pair"]).get("/actifs?filtre=non-resolus").text
    # withdrawing it, and the animatrice may mark too
    client_for(members["pair"]).post(f"/p/{answer.id}/solution")
    assert db.session.get(Topic, topic.id).solution_post_id is None
    assert client_for(members["animation"]).post(f"/p/{answer.id}/solution").status_code == 302


def test_rubriques_that_do_not_accept_solutions_refuse_them(members, client_for):
    topic = make_topic(members["pair"], slug="divers", title="Une question diverse")
    answer = make_reply(members["other_pair"], topic, "Réponse.")
    assert client_for(members["pair"]).post(f"/p/{answer.id}/solution").status_code == 403


def test_mots_cles_cross_rubriques_behind_the_wall(members, client_for):
    response = client_for(members["pair"]).post(
        "/r/premier-entretien/nouveau-sujet",
        data={
            "title": "Parcours VAE d'une aide-soignante",
            "body": "Question.",
            "tags": ["vae"],
            "submit": "1",
        },
    )
    assert response.status_code == 302
    chip = '<a class="tag-chip" href="/mots-cles/vae">VAE</a>'
    assert chip in client_for(members["other_pair"]).get(response.headers["Location"]).text
    assert chip in client_for(members["other_pair"]).get("/r/premier-entretien").text
    assert "Parcours VAE" in client_for(members["other_pair"]).get("/mots-cles/vae").text
    outsider = client_for(members["hors_pair"])
    assert "Parcours VAE" not in outsider.get("/mots-cles/vae").text
    counts = outsider.get("/mots-cles").text
    vae = re.search(r"/mots-cles/vae\">VAE</a>\s*<span class=\"meta\">(\d+)", counts)
    assert vae is not None
    assert vae.group(1) == "0"
    found = client_for(members["other_pair"]).get("/recherche?q=question&tag=vae").text
    assert "Parcours VAE" in found


def test_a_topic_page_reads_its_mots_cles_only_when_it_has_some(members, client_for, count_queries):
    client = client_for(members["pair"])
    data = {"title": "Parcours VAE", "body": "Question.", "tags": ["vae"], "submit": "1"}
    tagged = client.post("/r/premier-entretien/nouveau-sujet", data=data).headers["Location"]
    untagged = f"/t/{make_topic(members['pair']).id}"
    chip = '<a class="tag-chip" href="/mots-cles/vae">VAE</a>'

    def page(url: str) -> tuple[str, int]:
        client.get(url)
        with count_queries() as statements:
            text = client.get(url).text
        return text, sum("tags.name" in statement for statement in statements)

    text, reads = page(tagged)
    assert chip in text
    assert reads == 1
    text, reads = page(untagged)
    assert "tag-chip" not in text
    assert reads == 0
    db.session.execute(topic_tags.delete())  # the mot-clé withdrawn: no chip at once
    db.session.commit()
    text, reads = page(tagged)
    assert "tag-chip" not in text
    assert reads == 0


def test_more_than_five_or_unknown_mots_cles_are_refused(members, client_for):
    client = client_for(members["pair"])
    six = ["cpf", "vae", "jeunes", "seniors", "handicap", "formation"]
    data = {"title": "Trop de mots-clés", "body": "x", "tags": six, "submit": "1"}
    assert client.post("/r/premier-entretien/nouveau-sujet", data=data).status_code == 400
    data["tags"] = ["inconnu"]
    assert client.post("/r/premier-entretien/nouveau-sujet", data=data).status_code == 400
    assert db.session.scalar(select(func.count(Topic.id))) == 0


def test_only_staff_manage_mots_cles_and_it_is_journaled(members, client_for):
    assert client_for(members["pair"]).get("/mots-cles/gestion").status_code == 404
    staff = client_for(members["animation"])
    assert (
        staff.post("/mots-cles/gestion", data={"action": "create", "name": "Mobilité"}).status_code
        == 302
    )
    assert "Mobilité" in client_for(members["pair"]).get("/mots-cles").text
    assert "tag_create" in staff.get("/moderation/journal").text


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), "navy").save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_a_photo_sent_without_extension_still_opens_whole_from_its_link(members, client_for):
    """A JPEG sent as « miniature » (a phone's share, a renamed file) is saved as
    « miniature.jpg »: its link still serves the file shared, not the preview."""
    photo = _jpeg()
    author = client_for(members["pair"])
    sent = author.post(
        "/r/je-partage-mes-outils/nouveau-sujet",
        data={
            "title": "Une photo du tableau",
            "body": "Le tableau de l'atelier.",
            "submit": "1",
            "attachments": [(io.BytesIO(photo), "miniature")],
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    attachment = db.session.scalar(select(Attachment))
    assert attachment.thumbnail_key  # a picture has its preview
    reader = client_for(members["other_pair"])
    page = unescape(reader.get(sent.headers["Location"], follow_redirects=True).text)
    links = re.findall(rf'<a href="(/pj/{attachment.id}/[^"]+)"><img', page)
    assert links, "no link to the picture on its post"
    response = _fetch(reader, links[0])
    assert response.status_code == 200
    assert response.data == photo, "the link to the shared picture serves its thumbnail"
