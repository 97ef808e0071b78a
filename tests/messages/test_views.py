"""Private messages (« messages privés », SPEC §4-5, issue 7 deliverable 4): conversations
between members, only participants may open them, unread counts in the header, the wall on
who a hors pair may write to, and reports on messages."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from comcep.extensions import db
from comcep.members.models import Member
from comcep.messages import services
from comcep.messages.models import Conversation, ConversationMember, PrivateMessage
from comcep.moderation.models import Report
from tests.factories import make_reply, make_topic

UNKNOWN = "Aucun membre ne correspond à ce destinataire."
MESSAGES_BADGE = re.compile(r'>Messages(?: <span class="badge badge--count">(\d+))?')


def text_of(response: TestResponse) -> str:
    return unescape(response.get_data(as_text=True))


def location(response: TestResponse) -> str:
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost")
    return parts.path


def unread_messages(client: FlaskClient) -> int:
    response = client.get("/")
    assert response.status_code == 200
    match = MESSAGES_BADGE.search(response.get_data(as_text=True))
    assert match is not None, "no « Messages » link in the header"
    return int(match.group(1) or 0)


def count(model: type) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def write(
    client: FlaskClient,
    to: str = "",
    subject: str = "Un échange",
    body: str = "Bonjour.",
    ids: tuple[int, ...] = (),
) -> TestResponse:
    data: dict = {"recipients": to, "subject": subject, "body": body}
    if ids:
        data["a"] = [str(i) for i in ids]
    return client.post("/messages/nouveau", data=data)


def start(client: FlaskClient, **kwargs: object) -> int:
    """Open a conversation; its id."""
    response = write(client, **kwargs)
    assert response.status_code == 302, text_of(response)
    match = re.fullmatch(r"/messages/(\d+)", location(response))
    assert match is not None
    return int(match.group(1))


def without_form_noise(html: str, typed: str) -> str:
    """A page with what differs by construction blanked: the CSRF token and the name typed."""
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', html)
    return html.replace(typed, "«nom»") if typed else html


def bodies(conversation_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(PrivateMessage.body_source)
            .where(PrivateMessage.conversation_id == conversation_id)
            .order_by(PrivateMessage.id)
        )
    )


# --- Two members talk --------------------------------------------------------------------


def test_two_members_exchange_messages_in_one_conversation(members, client_for) -> None:
    pair, other = client_for(members["pair"]), client_for(members["other_pair"])
    conversation = start(pair, to="Paire Deux", subject="Ton cas de VAE", body="Tu as un moment ?")

    page = text_of(other.get(f"/messages/{conversation}"))
    assert "Ton cas de VAE" in page
    assert "Tu as un moment ?" in page
    assert "Entre Paire Deux, Paire Un" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    answered = other.post(f"/messages/{conversation}", data={"body": "Oui, appelle-moi."})
    assert answered.status_code == 302
    assert location(answered) == f"/messages/{conversation}"
    assert pair.post(f"/messages/{conversation}", data={"body": "Merci !"}).status_code == 302

    assert bodies(conversation) == ["Tu as un moment ?", "Oui, appelle-moi.", "Merci !"]
    listing = text_of(pair.get("/messages"))
    assert "Ton cas de VAE" in listing
    assert "avec Paire Deux · 3 messages" in re.sub(r"\s+", " ", listing)


def test_a_conversation_may_gather_several_members(members, client_for) -> None:
    conversation = start(client_for(members["pair"]), to="Paire Deux, Paire Pilote")
    for key in ("other_pair", "pilot_pair"):
        assert client_for(members[key]).get(f"/messages/{conversation}").status_code == 200


def test_writing_from_a_profile_uses_the_member_id(members, client_for) -> None:
    other = members["other_pair"]
    client = client_for(members["pair"])
    form = text_of(client.get(f"/messages/nouveau?a={other.id}"))
    assert "Paire Deux" in form
    conversation = start(client, ids=(other.id,))
    assert client_for(other).get(f"/messages/{conversation}").status_code == 200


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"recipients": "", "subject": "Objet", "body": "Texte"}, "Indiquez au moins un"),
        ({"recipients": "Paire Un", "subject": "Objet", "body": "Texte"}, "Indiquez au moins un"),
        ({"recipients": "Paire Deux", "subject": "", "body": "Texte"}, "Indiquez un objet."),
        ({"recipients": "Paire Deux", "subject": "Objet", "body": ""}, "ne peut pas être vide"),
    ],
    ids=["no-recipient", "only-oneself", "no-subject", "no-body"],
)
def test_a_bad_new_message_gets_a_french_error_and_keeps_the_input(
    members, client_for, data, error
) -> None:
    response = client_for(members["pair"]).post("/messages/nouveau", data=data)
    assert response.status_code == 400
    page = text_of(response)
    assert error in page
    if data["body"]:
        assert data["body"] in page
    assert count(Conversation) == 0


# --- Only participants ---------------------------------------------------------------------


def test_a_third_member_cannot_open_nor_answer_a_conversation(members, client_for) -> None:
    conversation = start(client_for(members["pair"]), to="Paire Deux", body="Entre nous deux.")
    missing = conversation + 1000
    for key in ("pilot_pair", "hors_pair", "animation", "admin"):
        intruder = client_for(members[key])
        seen, absent = (
            intruder.get(f"/messages/{conversation}"),
            intruder.get(f"/messages/{missing}"),
        )
        assert seen.status_code == absent.status_code == 404, key
        assert without_form_noise(seen.text, "") == without_form_noise(absent.text, ""), key
        assert "Entre nous deux" not in text_of(seen)

        answered = intruder.post(f"/messages/{conversation}", data={"body": "Je m'invite."})
        assert answered.status_code == 404, key
        assert "Entre nous deux" not in text_of(intruder.get("/messages"))
    assert bodies(conversation) == ["Entre nous deux."]


def test_a_third_member_cannot_report_a_message_of_a_conversation(members, client_for) -> None:
    conversation = start(client_for(members["pair"]), to="Paire Deux", body="Entre nous.")
    message_id = db.session.scalar(
        select(PrivateMessage.id).where(PrivateMessage.conversation_id == conversation)
    )
    intruder = client_for(members["pilot_pair"])
    reported = intruder.post(f"/messages/m/{message_id}/signaler", data={"reason": "spam"})
    missing = intruder.post(f"/messages/m/{message_id + 1000}/signaler", data={"reason": "spam"})
    assert reported.status_code == missing.status_code == 404
    assert without_form_noise(reported.text, "") == without_form_noise(missing.text, "")
    assert count(Report) == 0


def test_anonymous_visitors_are_sent_to_the_login_page(members, client_for, client) -> None:
    conversation = start(client_for(members["pair"]), to="Paire Deux")
    for url in ("/messages", "/messages/nouveau", f"/messages/{conversation}"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert location(response) == "/connexion"


# --- Unread counts -----------------------------------------------------------------------------


def test_the_header_counts_unread_conversations(members, client_for) -> None:
    pair, other = client_for(members["pair"]), client_for(members["other_pair"])
    assert unread_messages(other) == 0
    first = start(pair, to="Paire Deux", subject="Premier échange")
    start(pair, to="Paire Deux", subject="Second échange")
    assert unread_messages(other) == 2
    assert unread_messages(pair) == 0  # one's own messages are read
    listing = text_of(other.get("/messages"))
    assert listing.count("Non lu : ") == 2

    assert other.get(f"/messages/{first}").status_code == 200
    assert unread_messages(other) == 1
    assert pair.post(f"/messages/{first}", data={"body": "Tu as vu ?"}).status_code == 302
    assert unread_messages(other) == 2
    assert unread_messages(pair) == 0
    assert unread_messages(client_for(members["pilot_pair"])) == 0


# --- The wall: to whom a hors pair may write ----------------------------------------------------


def test_a_hors_pair_writes_to_a_member_who_posted_where_it_reads(
    members, make_member, client_for
) -> None:
    visible = make_member(name="Lucie Moreau")
    topic = make_topic(members["hors_pair"], slug="echanges", title="Question des partenaires")
    make_reply(visible, topic, "Ma réponse visible des partenaires.")
    hors_pair = client_for(members["hors_pair"])
    conversation = start(hors_pair, to="Lucie Moreau", body="Merci pour votre réponse.")
    page = client_for(visible).get(f"/messages/{conversation}")
    assert "Merci pour votre réponse." in text_of(page)
    answer = client_for(visible).post(f"/messages/{conversation}", data={"body": "Avec plaisir."})
    assert answer.status_code == 302
    assert (
        hors_pair.post(f"/messages/{conversation}", data={"body": "Bonne journée."}).status_code
        == 302
    )
    assert bodies(conversation)[-1] == "Bonne journée."


def test_a_hors_pair_reads_the_name_of_a_pair_who_wrote_but_no_link_it_cannot_open(
    members, make_member, client_for
) -> None:
    """A pair who never posted where hors pairs read writes to one: the hors pair reads her
    name, not a link to a profile that answers 404 (SPEC §4: a hors pair sees the members
    who posted where it reads); the pair's page links the hors pair's profile."""
    writer = make_member(name="Lucie Garnier")
    conversation = start(client_for(writer), ids=(members["hors_pair"].id,), body="Bonjour.")
    hors_pair = client_for(members["hors_pair"])
    page = hors_pair.get(f"/messages/{conversation}").text
    assert "Lucie Garnier" in page
    assert f'href="/membres/{writer.id}"' not in page
    assert hors_pair.get(f"/membres/{writer.id}").status_code == 404
    assert f'href="/membres/{members["hors_pair"].id}"' in page  # its own
    writers_page = client_for(writer).get(f"/messages/{conversation}").text
    assert f'href="/membres/{members["hors_pair"].id}"' in writers_page


def test_a_hors_pair_cannot_write_to_a_member_it_cannot_see_and_learns_nothing(
    members, make_member, client_for
) -> None:
    hidden = make_member(name="Lucie Garnier")
    make_topic(hidden, title="Un cas entre pairs", body="Seulement chez les pairs.")
    hors_pair = client_for(members["hors_pair"])

    refused = write(hors_pair, to="Lucie Garnier")
    nobody = write(hors_pair, to="Lucie Gernier")
    assert refused.status_code == nobody.status_code == 400
    assert UNKNOWN in text_of(refused)
    assert without_form_noise(refused.text, "Lucie Garnier") == without_form_noise(
        nobody.text, "Lucie Gernier"
    )

    make_member(name="Lucie Garnier")  # homonyms, both out of sight: still nobody
    homonyms = write(hors_pair, to="Lucie Garnier")
    assert homonyms.status_code == 400
    assert without_form_noise(homonyms.text, "Lucie Garnier") == without_form_noise(
        nobody.text, "Lucie Gernier"
    )
    assert count(Conversation) == 0


def test_a_hors_pair_learns_nothing_by_member_id_either(members, make_member, client_for) -> None:
    hidden = make_member(name="Lucie Garnier")
    make_topic(hidden, title="Un cas entre pairs", body="Seulement chez les pairs.")
    hors_pair = client_for(members["hors_pair"])
    missing_id = hidden.id + 1000

    form = hors_pair.get(f"/messages/nouveau?a={hidden.id}")
    empty = hors_pair.get(f"/messages/nouveau?a={missing_id}")
    assert form.status_code == empty.status_code == 200
    assert "Lucie Garnier" not in text_of(form)
    assert without_form_noise(form.text, "") == without_form_noise(empty.text, "")

    refused = write(hors_pair, ids=(hidden.id,))
    nobody = write(hors_pair, ids=(missing_id,))
    suspended = write(hors_pair, ids=(members["suspended"].id,))
    assert refused.status_code == nobody.status_code == suspended.status_code == 400
    assert UNKNOWN in text_of(refused)
    assert without_form_noise(refused.text, "") == without_form_noise(nobody.text, "")
    assert without_form_noise(suspended.text, "") == without_form_noise(nobody.text, "")
    assert count(Conversation) == 0


@pytest.mark.parametrize("ids", [(2**31,), (10**20,), (-5,)], ids=["int32+1", "huge", "negative"])
def test_a_member_id_out_of_range_is_an_unknown_recipient_with_the_text_kept(
    members, client_for, ids
) -> None:
    client = client_for(members["pair"])
    response = write(client, ids=ids, body="Un texte déjà tapé.")
    assert response.status_code == 400
    assert UNKNOWN in text_of(response)
    assert "Un texte déjà tapé." in text_of(response)
    assert client.get(f"/messages/nouveau?a={ids[0]}").status_code == 200
    assert count(Conversation) == 0


def test_the_animatrice_writes_to_anyone_and_they_can_answer(
    members, make_member, client_for
) -> None:
    newcomer = make_member(name="Nouvelle Conseillère")  # has never posted
    animation = client_for(members["animation"])
    for member in (newcomer, members["hors_pair"], members["comite"]):
        conversation = start(animation, ids=(member.id,), subject="Bienvenue", body="Bonjour !")
        client = client_for(member)
        assert client.get(f"/messages/{conversation}").status_code == 200
        answer = client.post(f"/messages/{conversation}", data={"body": "Merci !"})
        assert answer.status_code == 302, member.display_name
        assert bodies(conversation) == ["Bonjour !", "Merci !"]


def test_a_hors_pair_answers_a_pair_who_wrote_to_it_first(members, client_for) -> None:
    """A pair may write to a hors pair; the hors pair answers even if that pair never wrote
    where hors pairs read: the conversation is already theirs."""
    conversation = start(client_for(members["pair"]), to="Hors Pair", body="Une question.")
    hors_pair = client_for(members["hors_pair"])
    assert (
        hors_pair.post(f"/messages/{conversation}", data={"body": "Ma réponse."}).status_code == 302
    )
    assert bodies(conversation) == ["Une question.", "Ma réponse."]


def test_a_suspended_member_cannot_be_written_to(members, client_for) -> None:
    suspended = members["suspended"]
    client = client_for(members["pair"])
    by_id = write(client, ids=(suspended.id,))
    assert by_id.status_code == 400
    assert "Un des destinataires n'est plus membre actif." in text_of(by_id)
    by_name = write(client, to="Suspendu")
    assert by_name.status_code == 400
    assert UNKNOWN in text_of(by_name)
    by_staff = write(client_for(members["animation"]), ids=(suspended.id,))
    assert by_staff.status_code == 400
    assert count(Conversation) == 0


def test_a_pending_member_cannot_be_written_to(members, client_for) -> None:
    response = write(client_for(members["pair"]), ids=(members["pending"].id,))
    assert response.status_code == 400
    assert count(Conversation) == 0


# --- Reports on private messages -------------------------------------------------------------


def test_a_reported_message_reaches_the_queue_and_hiding_it_shows_the_placeholder(
    members, client_for
) -> None:
    pair, other = client_for(members["pair"]), client_for(members["other_pair"])
    conversation = start(pair, to="Paire Deux", body="Un message déplacé et blessant.")
    message_id = db.session.scalar(
        select(PrivateMessage.id).where(PrivateMessage.conversation_id == conversation)
    )
    page = text_of(other.get(f"/messages/{conversation}"))
    assert f"/messages/m/{message_id}/signaler" in page
    assert f"/messages/m/{message_id}/signaler" not in text_of(
        pair.get(f"/messages/{conversation}")
    )

    reported = other.post(
        f"/messages/m/{message_id}/signaler",
        data={"reason": "inappropriate", "comment": "Choquant"},
    )
    assert reported.status_code == 302
    assert location(reported) == f"/messages/{conversation}"
    again = other.post(f"/messages/m/{message_id}/signaler", data={"reason": "inappropriate"})
    assert again.status_code == 303  # already reported: told so, nothing added
    assert count(Report) == 1
    own = pair.post(f"/messages/m/{message_id}/signaler", data={"reason": "spam"})
    assert own.status_code == 303
    assert count(Report) == 1

    animation = client_for(members["animation"])
    queue = text_of(animation.get("/moderation"))
    assert "Messages privés signalés (1)" in queue
    assert "Un message déplacé et blessant." in queue
    assert client_for(members["pilot_pair"]).get("/moderation").status_code == 404

    decided = animation.post(
        f"/moderation/messages/{message_id}", data={"decision": "hidden", "reason": "Insultant"}
    )
    assert decided.status_code == 302
    assert "Messages privés signalés" not in text_of(animation.get("/moderation"))
    for client in (pair, other):
        shown = text_of(client.get(f"/messages/{conversation}"))
        assert "Ce message a été masqué par la modération." in shown
        assert "déplacé et blessant" not in shown
    assert animation.get(f"/messages/{conversation}").status_code == 404  # not a participant


def test_the_report_form_of_a_message_opens_and_names_its_author(members, client_for) -> None:
    """The conversation page links the form (a GET); it once loaded the message without its
    author and answered 500, on the GET and on a refused POST alike."""
    conversation = start(client_for(members["pair"]), to="Paire Deux", body="À signaler.")
    message_id = db.session.scalar(
        select(PrivateMessage.id).where(PrivateMessage.conversation_id == conversation)
    )
    author = f'Message de <a href="/membres/{members["pair"].id}">Paire Un</a>'
    other = client_for(members["other_pair"])
    form = other.get(f"/messages/m/{message_id}/signaler")
    assert form.status_code == 200
    assert author in text_of(form)
    refused = other.post(f"/messages/m/{message_id}/signaler", data={"reason": "n-importe"})
    assert refused.status_code == 400
    assert author in text_of(refused)
    assert count(Report) == 0


def test_a_hidden_message_has_no_report_form_that_would_show_its_text(members, client_for) -> None:
    pair, other = client_for(members["pair"]), client_for(members["other_pair"])
    conversation = start(pair, to="Paire Deux", body="Propos insultants à masquer.")
    message_id = db.session.scalar(
        select(PrivateMessage.id).where(PrivateMessage.conversation_id == conversation)
    )
    assert other.post(f"/messages/m/{message_id}/signaler", data={"reason": "spam"}).status_code
    hidden = client_for(members["animation"]).post(
        f"/moderation/messages/{message_id}", data={"decision": "hidden", "reason": "Insultant"}
    )
    assert hidden.status_code == 302
    for client in (other, client_for(members["pilot_pair"])):  # a participant, an outsider
        form = client.get(f"/messages/m/{message_id}/signaler")
        assert form.status_code == 404
        assert "Propos insultants" not in text_of(form)
    again = other.post(f"/messages/m/{message_id}/signaler", data={"reason": "inappropriate"})
    assert again.status_code == 404
    assert count(Report) == 1  # not back in the queue


def test_hiding_a_reported_message_needs_a_reason(members, client_for) -> None:
    """SPEC §6: a message is hidden with a reason (an empty one was taken for « Contenu
    signalé. »: review of stop 52)."""
    conversation = start(client_for(members["pair"]), to="Paire Deux", body="Un message vif.")
    message_id = db.session.scalar(
        select(PrivateMessage.id).where(PrivateMessage.conversation_id == conversation)
    )
    other = client_for(members["other_pair"])
    assert other.post(f"/messages/m/{message_id}/signaler", data={"reason": "spam"}).status_code
    refused = client_for(members["animation"]).post(
        f"/moderation/messages/{message_id}", data={"decision": "hidden", "reason": " "}
    )
    assert refused.status_code == 400
    assert "Indiquez la raison du masquage" in text_of(refused)
    assert "Un message vif." in text_of(other.get(f"/messages/{conversation}"))


def test_a_report_kept_by_the_animatrice_leaves_the_message_visible(members, client_for) -> None:
    conversation = start(client_for(members["pair"]), to="Paire Deux", body="Un message correct.")
    message_id = db.session.scalar(
        select(PrivateMessage.id).where(PrivateMessage.conversation_id == conversation)
    )
    other = client_for(members["other_pair"])
    assert (
        other.post(f"/messages/m/{message_id}/signaler", data={"reason": "spam"}).status_code == 302
    )
    kept = client_for(members["animation"]).post(
        f"/moderation/messages/{message_id}", data={"decision": "kept"}
    )
    assert kept.status_code == 302
    assert "Un message correct." in text_of(other.get(f"/messages/{conversation}"))
    db.session.expire_all()
    assert db.session.get(Member, members["pair"].id).state == "active"


def test_a_silenced_member_can_read_but_not_answer(members, client_for) -> None:
    conversation = start(client_for(members["pair"]), to="Paire Deux", body="Une question.")
    silenced = client_for(members["animation"]).post(
        f"/membres/{members['other_pair'].id}/moderer",
        data={"action": "silence", "days": "7", "reason": "Ton à revoir."},
    )
    assert silenced.status_code == 302
    other = client_for(members["other_pair"])
    page = other.get(f"/messages/{conversation}")
    assert page.status_code == 200
    assert "Votre compte est en lecture seule jusqu'au" in text_of(page)  # no box to fill
    assert 'name="body"' not in page.text
    blank = other.get("/messages/nouveau")
    assert "Votre compte est en lecture seule jusqu'au" in text_of(blank)
    assert 'name="body"' not in blank.text
    answer = other.post(f"/messages/{conversation}", data={"body": "Je réponds quand même."})
    assert answer.status_code == 403
    assert "lecture seule" in text_of(answer)
    assert write(other, to="Paire Un").status_code == 403
    assert bodies(conversation) == ["Une question."]


# --- Adding participants ------------------------------------------------------------------


def test_a_participant_brings_in_a_member_who_then_reads_the_whole_conversation(
    members, make_member, client_for
) -> None:
    pair = client_for(members["pair"])
    conversation = start(pair, to="Paire Deux", body="Le premier message.")
    newcomer = members["pilot_pair"]
    assert client_for(newcomer).get(f"/messages/{conversation}").status_code == 404
    page = text_of(pair.get(f"/messages/{conversation}"))
    assert "Ajouter des participants" in page

    added = pair.post(f"/messages/{conversation}/participants", data={"recipients": "Paire Pilote"})
    assert added.status_code == 302
    assert location(added) == f"/messages/{conversation}"
    assert unread_messages(client_for(newcomer)) == 1
    seen = client_for(newcomer).get(f"/messages/{conversation}")
    assert seen.status_code == 200
    assert "Le premier message." in text_of(seen)
    assert "Paire Pilote" in text_of(pair.get(f"/messages/{conversation}"))

    again = pair.post(f"/messages/{conversation}/participants", data={"recipients": "Paire Deux"})
    assert again.status_code == 400
    assert "participent déjà à la conversation" in text_of(again)
    assert 'value="Paire Deux"' in again.text  # what was typed is kept
    outsider = make_member(name="Quelqu'un d'autre")
    intruder = client_for(outsider).post(
        f"/messages/{conversation}/participants", data={"recipients": "Quelqu'un d'autre"}
    )
    assert intruder.status_code == 404  # not a participant: nothing to add to


def test_a_hors_pair_adds_no_member_it_cannot_see_and_learns_nothing(
    members, make_member, client_for
) -> None:
    """The wall, as for a new message: a member the hors pair may not see answers exactly as
    one who does not exist."""
    visible = make_member(name="Lucie Moreau")
    topic = make_topic(members["hors_pair"], slug="echanges", title="Question des partenaires")
    make_reply(visible, topic, "Ma réponse visible des partenaires.")
    hors_pair = client_for(members["hors_pair"])
    conversation = start(hors_pair, to="Lucie Moreau", body="Merci.")
    hors_pair.get(f"/messages/{conversation}")  # shows « Votre message est envoyé. »
    url = f"/messages/{conversation}/participants"
    hidden = hors_pair.post(url, data={"recipients": "Paire Deux"})
    missing = hors_pair.post(url, data={"recipients": "Personne Inconnue"})
    assert hidden.status_code == missing.status_code == 400
    assert UNKNOWN in text_of(hidden)
    assert without_form_noise(hidden.text, "Paire Deux") == without_form_noise(
        missing.text, "Personne Inconnue"
    )
    assert client_for(members["other_pair"]).get(f"/messages/{conversation}").status_code == 404


def test_two_participants_adding_the_same_member_at_the_same_moment_both_succeed(
    members, client_for
) -> None:
    """Each read the participants before the other's addition was committed: the second
    INSERT broke the primary key (a 500); the member is now in the conversation once."""
    pair = client_for(members["pair"])
    conversation_id = start(pair, to="Paire Deux", body="Le premier message.")
    conversation = db.session.get(Conversation, conversation_id)
    stale = [members["pair"], members["other_pair"]]  # as both adders read them
    newcomer = members["pilot_pair"]
    assert services.add_participants(conversation, [newcomer], stale) == [newcomer]
    db.session.commit()
    assert services.add_participants(conversation, [newcomer], stale) == [newcomer]
    db.session.commit()
    rows = db.session.scalars(
        select(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
    ).all()
    assert sorted(row.member_id for row in rows) == sorted(m.id for m in [*stale, newcomer])
    assert client_for(newcomer).get(f"/messages/{conversation_id}").status_code == 200


# --- Leaving -----------------------------------------------------------------------------


def test_a_participant_leaves_a_conversation_which_no_longer_is_theirs(members, client_for) -> None:
    """Gone from the list and the count, closed to them (the same 404 as to anyone), its
    messages kept for the others, who read who left; a participant may bring them back."""
    pair, other = client_for(members["pair"]), client_for(members["other_pair"])
    conversation = start(pair, to="Paire Deux", subject="Un cas délicat", body="Le contexte.")
    assert unread_messages(other) == 1
    page = text_of(other.get(f"/messages/{conversation}"))
    assert "Quitter la conversation" in page

    left = other.post(f"/messages/{conversation}/quitter")
    assert left.status_code == 302
    assert location(left) == "/messages"
    listing = text_of(other.get("/messages"))
    assert "Vous avez quitté la conversation « Un cas délicat »" in listing
    assert "Un cas délicat" not in text_of(other.get("/messages"))
    assert other.get(f"/messages/{conversation}").status_code == 404
    assert other.post(f"/messages/{conversation}", data={"body": "Encore moi."}).status_code == 404
    assert other.post(f"/messages/{conversation}/quitter").status_code == 404

    pair.post(f"/messages/{conversation}", data={"body": "Vous êtes encore là ?"})
    assert unread_messages(other) == 0  # a message after leaving rings no bell
    seen = re.sub(r"<[^>]+>", "", text_of(pair.get(f"/messages/{conversation}")))
    assert "A quitté la conversation : Paire Deux" in seen
    assert bodies(conversation) == ["Le contexte.", "Vous êtes encore là ?"]

    back = pair.post(f"/messages/{conversation}/participants", data={"recipients": "Paire Deux"})
    assert back.status_code == 302
    assert unread_messages(other) == 1
    again = text_of(other.get(f"/messages/{conversation}"))
    assert "Vous êtes encore là ?" in again
    assert "quitté la conversation" not in again


def test_leaving_asks_for_the_csrf_token_and_an_outsider_cannot_leave_for_someone(
    members, client_for, app, monkeypatch
) -> None:
    pair = client_for(members["pair"])
    conversation = start(pair, to="Paire Deux", body="Bonjour.")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert (
        client_for(members["other_pair"]).post(f"/messages/{conversation}/quitter").status_code
        == 400
    )
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    outsider = client_for(members["pilot_pair"])
    assert outsider.post(f"/messages/{conversation}/quitter").status_code == 404
    assert "Paire Deux" in text_of(pair.get(f"/messages/{conversation}"))
    assert "quitté" not in text_of(pair.get(f"/messages/{conversation}"))


def test_a_private_message_hidden_with_a_reason_shows_that_reason_to_its_author_only(
    members, client_for
) -> None:
    """The queue asks a reason « montrée à l'auteur »; the conversation showed only « Ce
    message a été masqué par la modération. » to everyone (review C of stop 52). Its author
    reads why; the other participants do not."""
    author, other = client_for(members["pair"]), client_for(members["other_pair"])
    conversation = start(author, to="Paire Deux", body="Un message vif.")
    message_id = db.session.scalar(
        select(PrivateMessage.id).where(PrivateMessage.conversation_id == conversation)
    )
    other.post(f"/messages/m/{message_id}/signaler", data={"reason": "spam"})
    hidden = client_for(members["animation"]).post(
        f"/moderation/messages/{message_id}",
        data={"decision": "hidden", "reason": "Propos blessants envers un collègue"},
    )
    assert hidden.status_code == 302
    assert "Raison : Propos blessants envers un collègue" in text_of(
        author.get(f"/messages/{conversation}")
    )
    seen = text_of(other.get(f"/messages/{conversation}"))
    assert "Ce message a été masqué par la modération." in seen
    assert "Propos blessants" not in seen


def test_the_list_of_conversations_pages_both_ways_and_says_when_past_its_end(
    members, client_for
) -> None:
    """Page 2 leads back to the newer conversations (it led only further back), and a page
    past the end says so rather than « Aucune conversation » to a member who has some."""
    pair, other = members["pair"], members["other_pair"]
    for n in range(31):
        services.start_conversation(pair, [other], f"Échange {n}", "Bonjour.")
    db.session.commit()
    client = client_for(other)
    first, second = client.get("/messages").text, client.get("/messages?page=2").text
    assert '<a href="/messages?page=2" rel="next">' in first
    assert '<a href="/messages" rel="prev">Conversations plus récentes</a>' in second
    beyond = client.get("/messages?page=5").text
    assert "Aucune conversation." not in beyond
    assert "Cette page n'existe pas" in unescape(beyond)
