"""A post hidden by the moderation, corrected by its author (review D of stop 52): the hidden
text stays out of its history, the queue is not refilled with the same text, a correction is
no member's flag, and a refused post corrected and kept is told to those it concerns."""

from __future__ import annotations

from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Post
from comcep.moderation.models import Report
from comcep.notifications.models import Notification
from tests.factories import make_reply, make_topic
from tests.moderation.helpers import plain, reload, text_of

NAME_OF_BENEFICIARY = "Madame Zéphirine Brocéliande"


def _hidden_reply(members, client_for):  # noqa: ANN001, ANN202
    topic = make_topic(members["pair"], title="Un cas de reconversion", body="Le cas.")
    reply = make_reply(members["other_pair"], topic, f"J'ai reçu {NAME_OF_BENEFICIARY} hier.")
    staff = client_for(members["animation"])
    hidden = staff.post(f"/p/{reply.id}/masquer", data={"reason": "Un nom : retirez-le."})
    assert hidden.status_code == 302
    return topic, reply, staff


def _correct(client, post_id: int, body: str):  # noqa: ANN001, ANN202
    return client.post(f"/p/{post_id}/modifier", data={"body": body, "submit": "1"})


def test_keeping_a_corrected_post_does_not_publish_the_hidden_text_in_its_history(
    members, client_for
) -> None:
    """The post was hidden for the name it gave; its author takes the name out, the
    animatrice « conserve » the corrected version: the name must not be readable by every
    member through « Modifié le … » (the history page), which keeps the hidden version."""
    topic, reply, staff = _hidden_reply(members, client_for)
    author = client_for(members["other_pair"])
    assert _correct(author, reply.id, "J'ai reçu une bénéficiaire hier.").status_code == 302
    kept = staff.post(f"/moderation/signalements/{reply.id}", data={"decision": "kept"})
    assert kept.status_code == 302
    assert not reload(Post, reply.id).is_hidden

    reader = client_for(members["pair"])
    assert NAME_OF_BENEFICIARY not in text_of(reader.get(f"/t/{topic.id}"))
    history = reader.get(f"/p/{reply.id}/historique")
    assert NAME_OF_BENEFICIARY not in text_of(history)


def test_sending_the_hidden_post_back_unchanged_files_no_corrected_report(
    members, client_for
) -> None:
    """« Corrigé par son auteur » must mean corrected: the same text sent back (nothing
    changed, no revision) puts the post back in the queue, after every « masquer », as often
    as its author likes."""
    _topic, reply, staff = _hidden_reply(members, client_for)
    author = client_for(members["other_pair"])
    same = reload(Post, reply.id).body_source
    for _ in range(2):
        _correct(author, reply.id, same)
        staff.post(
            f"/moderation/signalements/{reply.id}",
            data={"decision": "hidden", "reason": "Toujours le nom."},
        )
    db.session.expire_all()
    assert reload(Post, reply.id).revision_count == 0
    filed = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.post_id == reply.id, Report.reason == "corrected"
        )
    )
    assert filed == 0


def test_the_author_of_a_corrected_post_is_not_told_their_report_was_handled(
    members, client_for
) -> None:
    """The author filed no report: « a traité votre signalement » is false, and « Mes
    signalements » (« Vos signalements et leur issue ») lists one they never made."""
    _topic, reply, staff = _hidden_reply(members, client_for)
    author = client_for(members["other_pair"])
    _correct(author, reply.id, "J'ai reçu une bénéficiaire hier.")
    mine = plain(text_of(author.get("/signalements")))
    assert "Vous n'avez signalé aucun message." in mine
    staff.post(f"/moderation/signalements/{reply.id}", data={"decision": "kept"})
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.member_id == members["other_pair"].id)
    ).all()
    assert "report_decided" not in kinds


def test_a_stale_corrected_report_does_not_count_as_a_reporter_for_auto_hiding(
    members, client_for, make_member
) -> None:
    """The animatrice shows the corrected post again from the post itself (« Rétablir »),
    not from the queue: the « corrigé » report stays open, filed in its author's name, and
    counts as one of the three reporters who hide a post automatically: two members'
    reports then hide it."""
    _topic, reply, staff = _hidden_reply(members, client_for)
    author = client_for(members["other_pair"])
    _correct(author, reply.id, "J'ai reçu une bénéficiaire hier.")
    assert staff.post(f"/p/{reply.id}/restaurer", data={"reason": ""}).status_code == 302
    assert not reload(Post, reply.id).is_hidden
    for member in (members["pair"], members["pilot_pair"]):
        sent = client_for(member).post(
            f"/p/{reply.id}/signaler", data={"reason": "spam", "comment": ""}
        )
        assert sent.status_code in (302, 303)
    assert not reload(Post, reply.id).is_hidden


def test_a_refused_first_post_corrected_and_kept_is_published_as_a_validation_publishes(
    members, client_for, make_member
) -> None:
    """A newcomer's first reply, refused at pre-moderation (« Refuser (masquer avec une
    raison) »), is now corrected by its author and « conservé » from the queue: never
    published, it is published as `approve_post` publishes, numbered after the replies
    written meanwhile (readers who read past its number see it « non lu ») and told to the
    topic's author, who follows their own topic."""
    from tests.moderation.helpers import set_premoderation

    topic = make_topic(members["pair"], title="Un sujet accueillant", body="Bienvenue.")
    make_reply(members["other_pair"], topic, "Une première réponse.")
    assert set_premoderation(client_for(members["admin"]), "1").status_code == 302
    newcomer = make_member(network="apec", name="Nouvelle Recrue")
    author = client_for(newcomer)
    sent = author.post(
        f"/t/{topic.id}/repondre", data={"body": "Bonjour, Mme Untel vient.", "submit": "1"}
    )
    assert sent.status_code == 302, sent.text[:3000]
    pending = db.session.scalar(select(Post).where(Post.author_id == newcomer.id))
    staff = client_for(members["animation"])
    staff.post(f"/p/{pending.id}/masquer", data={"reason": "Pas de nom de bénéficiaire."})
    make_reply(members["other_pair"], topic, "Une réponse écrite entre-temps.")
    assert (
        author.post(
            f"/p/{pending.id}/modifier", data={"body": "Bonjour à tous !", "submit": "1"}
        ).status_code
        == 302
    )
    staff.post(f"/moderation/signalements/{pending.id}", data={"decision": "kept"})
    from comcep import outbox

    outbox.process()
    published = reload(Post, pending.id)
    assert not published.is_hidden
    assert not published.is_refused
    meanwhile = db.session.scalar(select(Post).where(Post.body_source.contains("entre-temps")))
    assert published.number > meanwhile.number
    told = db.session.scalars(
        select(Notification.kind).where(
            Notification.member_id == members["pair"].id, Notification.post_id == pending.id
        )
    ).all()
    assert told, "the topic's author is never told of the reply"


def test_a_corrected_report_does_not_show_its_author_the_title_of_a_topic_hidden_since(
    members, client_for
) -> None:
    """The author of a corrected reply is listed as the « reporter » of its review: « Mes
    signalements » shows the live title of its topic, even once the moderation hid that
    topic (its opening post) and renamed it, a title its reader may not open (404)."""
    topic, reply, staff = _hidden_reply(members, client_for)
    author = client_for(members["other_pair"])
    _correct(author, reply.id, "J'ai reçu une bénéficiaire hier.")
    first = db.session.scalar(select(Post.id).where(Post.topic_id == topic.id, Post.number == 1))
    staff.post(f"/p/{first}/masquer", data={"reason": "Un nom dans le titre."})
    staff.post(f"/t/{topic.id}/renommer", data={"title": "Cas Lemoine-Vasseur : titre caché"})
    assert author.get(f"/t/{topic.id}").status_code == 404
    assert "Lemoine-Vasseur" not in text_of(author.get("/signalements"))
