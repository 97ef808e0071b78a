"""After topics cross the wall (moved, merged, split) and a pair is made a hors
pair, everything a hors pair can reach by following links (and its e-mails) is scanned
for words written behind the wall afterwards."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from comcep import outbox
from comcep.extensions import db
from comcep.forum.models import Post
from comcep.members.models import Member
from comcep.moderation import services as moderation
from tests.factories import category, make_reply, make_topic

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "request_scoped_clients")

CANARY = "CANARIW77"
SKIP = ("/deconnexion", "/static/", "/notifications/desabonner", "/marquer-lus")
HREF = re.compile(r'(?:href|action|src)="([^"#]+)')


def _crawl(client, starts: list[str], limit: int = 400) -> dict[str, str]:  # noqa: ANN001
    seen: dict[str, str] = {}
    queue = deque(starts)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen or any(url.startswith(s) for s in SKIP):
            continue
        response = client.get(url)
        body = (
            response.get_data(as_text=True)
            if response.mimetype.startswith(("text", "application/json"))
            else ""
        )
        seen[url] = body + " " + response.headers.get("Location", "")
        targets = HREF.findall(body)
        if response.headers.get("Location"):
            targets.append(response.headers["Location"])
        for href in targets:
            parts = urlsplit(urljoin(url, href.replace("&amp;", "&")))
            if parts.netloc not in ("", "localhost"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                queue.append(target)
    return seen


def _mails(app: Flask) -> list[tuple[str, str]]:
    folder = Path(app.instance_path) / "mail"
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = message_from_bytes(path.read_bytes(), policy=email_policy.default)
        text = "\n".join(
            p.get_content() for p in message.walk() if p.get_content_maintype() == "text"
        )
        found.append((str(message["To"]), str(message["Subject"]) + text))
    return found


def test_nothing_written_behind_the_wall_after_a_crossing_reaches_a_hors_pair(
    app: Flask, members: dict[str, Member], make_member: Callable, client_for: Callable
) -> None:
    folder = Path(app.instance_path) / "mail"
    for old in folder.glob("*.eml") if folder.exists() else []:
        old.unlink()
    hors_pair, pair, animation = members["hors_pair"], members["pair"], members["animation"]
    turned = make_member(statut="pair", network="apec", name="Future Horspaire")
    pairs_rubrique = category("premier-entretien")

    # 1. An exchange the hors pair opened and watches, moved to the pairs, answered there.
    moved = make_topic(hors_pair, "echanges", title="Question partenaire", body="Bonjour.")
    make_reply(pair, moved, "Réponse visible.")
    moderation.move_topic(animation, moved, pairs_rubrique, confirmed=True)
    db.session.commit()
    make_reply(pair, moved, f"Après le déplacement {CANARY} @Hors Pair")

    # 2. An exchange merged into a pairs' topic, then answered there.
    target = make_topic(turned, title="Cas entre pairs", body="Texte.")
    merged = make_topic(hors_pair, "echanges", title="Autre question", body="Salut.")
    moderation.merge_topics(animation, merged, target, confirmed=True)
    db.session.commit()
    make_reply(pair, target, f"Suite {CANARY} [**Hors Pair**](/p/{_first(merged)}) a écrit :")

    # 3. The hors pair's reply split into a new pairs' topic titled by the animatrice.
    asked = make_topic(hors_pair, "echanges", title="Troisième question", body="Hello.")
    mine = make_reply(hors_pair, asked, "Ma précision.")
    new = moderation.split_topic(
        animation, asked, [mine.id], f"Titre {CANARY} des pairs", pairs_rubrique
    )
    db.session.commit()
    make_reply(pair, new, f"Réponse {CANARY} au sujet scindé.")
    post = make_reply(turned, new, "Merci.")
    client_for(pair).post(f"/p/{post.id}/merci", data={"action": "donner"})
    client_for(hors_pair).get(f"/t/{_any(new)}")  # nothing: 404

    # 4. A pair watching the pairs' topics is made a hors pair by an admin.
    outbox.process()
    before = len(_mails(app))  # what the pair received while a pair
    turned_member = db.session.get(Member, turned.id)
    turned_member.statut = "hors_pair"
    db.session.commit()
    make_reply(pair, target, f"Encore {CANARY} pour @Future Horspaire")
    outbox.process()

    starts = [
        "/",
        "/notifications",
        "/compte",
        "/actifs",
        "/non-lus",
        "/membres",
        "/mots-cles",
        "/outils",
        f"/recherche?q={CANARY}",
        "/messages",
        "/signalements",
        "/compte/export",
        "/compte/export.html",
        f"/t/{moved.id}",
        f"/t/{merged.id}",
        f"/t/{asked.id}",
        f"/t/{new.id}",
        f"/t/{target.id}",
    ]
    for member in (hors_pair, turned):
        pages = _crawl(client_for(member), starts)
        # The search page echoes its query: there, nothing may be found.
        assert "Aucun résultat" in pages[f"/recherche?q={CANARY}"]
        leaked = [
            url
            for url, text in pages.items()
            if CANARY.lower() in url.lower()
            and "Aucun résultat" not in text
            or CANARY.lower() not in url.lower()
            and CANARY.lower() in text.lower()
        ]
        assert leaked == [], f"{member.display_name}: {leaked}"
    for index, (recipient, text) in enumerate(_mails(app)):
        if hors_pair.email in recipient or (turned.email in recipient and index >= before):
            assert CANARY not in text, recipient


def _first(topic) -> int:  # noqa: ANN001
    return db.session.scalar(select(Post.id).where(Post.topic_id == topic.id).order_by(Post.number))


def _any(topic) -> int:  # noqa: ANN001
    return topic.id
