"""Odd query strings on the pages added lately (keyset pages of a conversation, capped
lists, the library, the « Auteur » filter and its suggestions, the notifications' pages):
for every role, a non-numeric, negative, huge, unicode-digit, NUL-carrying or very long
value answers a page or a refusal, never a 500 (the test app re-raises exceptions)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from comcep.extensions import db
from comcep.members.models import Member
from comcep.messages import services as message_services
from tests.factories import make_reply, make_topic

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

ODD = [
    "",
    "0",
    "-1",
    "²",
    "٣",
    "abc",
    "1.5",
    "99999999999999999999",
    "9" * 400,
    "ab%00cd",
    "1&page=2&page=-3",
]

URLS = [
    "/notifications?page={v}",
    "/messages?page={v}",
    "/messages/{conversation}?avant={v}",
    "/messages/{conversation}?depuis={v}",
    "/messages/{conversation}?avant={v}&depuis={v}",
    "/outils?page={v}",
    "/outils?type={v}&mot-cle={v}",
    "/r/premier-entretien?filtre=sans-reponse&page={v}",
    "/r/echanges?filtre=non-resolus&page={v}",
    "/actifs?filtre={v}&page={v}",
    "/non-lus?page={v}",
    "/mots-cles/cpf?page={v}",
    "/membres/suggestions?q={v}",
    "/membres?page={v}&nom={v}",
    "/recherche?q=entretien&auteur={v}",
    "/recherche?q=entretien&page={v}",
    "/moderation/journal?page={v}&acteur={v}",
    "/t/{topic}?page={v}",
    "/p/{post}/historique?page={v}",
    "/t/{topic}/fusionner/sujets?q={v}",
]


@pytest.mark.parametrize(
    "role", ["pair", "hors_pair", "animation", "comite", "admin", "pending", "anonymous"]
)
def test_odd_query_strings_never_answer_a_500(
    members: dict[str, Member], client_for: Callable[[Member | None], FlaskClient], role: str
) -> None:
    topic = make_topic(members["pair"], title="Entretien entre pairs")
    post = make_reply(members["other_pair"], topic, "Un entretien encore.")
    conversation = message_services.start_conversation(
        members["pair"], [members["other_pair"], members["hors_pair"]], "Un échange", "Bonjour."
    )
    db.session.commit()
    client = client_for(None if role == "anonymous" else members[role])
    refused = []
    for url in URLS:
        for value in ODD:
            address = url.format(
                v=value, conversation=conversation.id, topic=topic.id, post=post.id
            )
            status = client.get(address).status_code
            if status >= 500:
                refused.append((address, status))
    assert not refused
