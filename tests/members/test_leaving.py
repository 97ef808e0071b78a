"""Leaving (SPEC §4): the former name also leaves the @mentions others wrote."""

from __future__ import annotations

from html import unescape

from sqlalchemy import func, select

from comcep.extensions import db, utcnow
from comcep.forum.models import Post, PostRevision
from comcep.mail import MailMessage, queue_mail
from comcep.members.models import Member
from comcep.messages.models import PrivateMessage
from tests import factories
from tests.conftest import PASSWORD

NAME = "Gwendoline Kervarec"


def leave(client) -> None:  # noqa: ANN001
    response = client.post("/compte/quitter", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302


def page(client, url: str) -> str:  # noqa: ANN001
    return unescape(client.get(url, follow_redirects=True).get_data(as_text=True))


def test_mentions_of_a_member_who_leaves_read_ancien_membre_in_pages_and_search(
    client_for, members, make_member
) -> None:
    leaver = make_member(name=NAME, network="apec")
    reader = client_for(members["other_pair"])
    topic = factories.make_topic(leaver, "premier-entretien", "Un cas", "Le cas de départ.")
    mention = factories.make_reply(members["pair"], topic, f"Merci @{NAME} pour ce cas.")
    edited = client_for(members["pair"]).post(
        f"/p/{mention.id}/modifier", data={"body": f"Merci @{NAME.upper()} pour ce cas !"}
    )
    assert edited.status_code == 302
    untouched = factories.make_reply(members["pair"], topic, f"@{NAME}s et @Gwendoline.")
    assert NAME in page(reader, f"/t/{topic.id}")
    assert "Aucun résultat" not in page(reader, "/recherche?q=Kervarec")

    leave(client_for(leaver))

    thread = page(reader, f"/t/{topic.id}")
    assert "Merci Ancien membre pour ce cas !" in thread
    assert f"@{NAME}s et @Gwendoline." in thread  # other names are left alone
    db.session.expire_all()
    assert "Kervarec" not in db.session.get(Post, mention.id).body_html
    history = db.session.scalars(
        select(PostRevision.body_source).where(PostRevision.post_id == mention.id)
    ).all()
    assert history == ["Merci Ancien membre pour ce cas."]
    assert db.session.get(Post, untouched.id).body_source == f"@{NAME}s et @Gwendoline."
    found = page(reader, "/recherche?q=merci")
    assert "Kervarec" not in found
    assert "Ancien membre" in found


def test_no_link_to_the_profile_of_a_member_who_left_remains(
    client_for, members, make_member
) -> None:
    """A mention spelt without the accents (not rewritten to « Ancien membre »), or written
    in a private message, linked the old name to the account: the links go with it."""
    leaver = make_member(name="Jérôme Marchand", network="apec")
    topic = factories.make_topic(
        members["pair"], "premier-entretien", "Un cas", "@Jerome Marchand ?"
    )
    client_for(members["pair"]).post(
        "/messages/nouveau",
        data={"recipients": "Paire Deux", "subject": "Un relais", "body": "Voir @Jérôme Marchand."},
    )
    link = f'href="/membres/{leaver.id}"'
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    assert link in first.body_html

    leave(client_for(leaver))

    db.session.expire_all()
    assert link not in db.session.get(Post, first.id).body_html
    assert (
        db.session.scalar(
            select(func.count(PrivateMessage.id)).where(PrivateMessage.body_html.contains(link))
        )
        == 0
    )


def test_a_mention_shared_with_a_namesake_is_kept(client_for, members, make_member) -> None:
    leaver = make_member(name=NAME, network="apec")
    make_member(name=NAME, network="cap-emploi")
    topic = factories.make_topic(members["pair"], "premier-entretien", "Un cas", f"@{NAME} ?")

    leave(client_for(leaver))

    db.session.expire_all()
    assert db.session.scalar(select(Post.body_source).where(Post.topic_id == topic.id)) == (
        f"@{NAME} ?"
    )


def test_leaving_drops_the_archived_mail_that_names_or_addresses_the_member(
    app, client_for, members, make_member
) -> None:
    leaver = make_member(name=NAME, email="gwendoline.kervarec@exemple.fr", network="apec")
    with app.test_request_context():
        queue_mail(leaver.email, "Pour elle", "already_registered", member=leaver, login_url="/")
        naming = queue_mail(
            members["referent_apec"].email,
            "Une demande d'inscription attend votre validation",
            "to_validate",
            member=leaver,
            link="/moderation/inscriptions",
        )
        other = queue_mail(
            members["pair"].email,
            "Autre",
            "already_registered",
            member=members["pair"],
            login_url="/",
        )
    naming.sent_at = other.sent_at = utcnow()
    db.session.commit()

    leave(client_for(leaver))

    db.session.expire_all()
    kept = db.session.scalars(select(MailMessage.recipient)).all()
    assert kept == [members["pair"].email]


def test_leaving_erases_what_moderators_wrote_on_the_account(
    client_for, members, make_member
) -> None:
    leaver = make_member(name=NAME, network="apec")
    silenced = client_for(members["animation"]).post(
        f"/membres/{leaver.id}/moderer",
        data={"action": "silence", "days": "3", "reason": f"Propos de {NAME} envers un pair."},
    )
    assert silenced.status_code == 302

    leave(client_for(leaver))

    db.session.expire_all()
    former = db.session.get(Member, leaver.id)
    assert (former.moderation_reason, former.silenced_until) == ("", None)


def _active_admins() -> int:
    db.session.expire_all()
    return sum(
        1
        for member in db.session.scalars(select(Member).where(Member.state == "active"))
        if "admin" in member.role_set
    )


def test_the_only_active_administrator_cannot_leave(members, client_for) -> None:  # noqa: ANN001
    """« Quitter la ComCEP » anonymised the only administrator, roles included: nobody could
    manage rubriques, roles or invitations any more (review). Once another one is named,
    they may leave."""
    admin = members["admin"]
    client = client_for(admin)
    data = {"password": PASSWORD, "confirm": "y"}

    response = client.post("/compte/quitter", data=data)

    assert response.status_code == 400
    assert "seul administrateur en activité" in unescape(response.get_data(as_text=True))
    assert _active_admins() == 1
    db.session.get(Member, members["animation"].id).set_roles(["animation", "admin"])
    db.session.commit()
    assert client.post("/compte/quitter", data=data).status_code == 302
    assert db.session.get(Member, admin.id).state == "left"


def test_a_member_who_leaves_may_ask_their_posts_removed(client_for, members, make_member):
    """SPEC §4: « their posts stay unless they ask removal ». The leaving form offers it
    (before, the member had to write to the animatrice, who hid each post by hand): every
    post of theirs is hidden as the moderation hides one, the text kept, a topic they opened
    with it; counters, « dernier message » and search follow; one journal entry."""
    from comcep.forum.models import Topic
    from comcep.moderation.models import ModerationLog
    from tests.moderation.helpers import assert_counters_right

    leaver = make_member(name=NAME, network="apec")
    reader = client_for(members["other_pair"])
    own = factories.make_topic(
        leaver, "premier-entretien", "Un cas à retirer", "Mon cas SIGNATUREUNIQUE."
    )
    factories.make_reply(members["pair"], own, "Une réponse à ce cas.")
    other = factories.make_topic(members["pair"], "premier-entretien", "Un autre cas", "Texte.")
    reply = factories.make_reply(leaver, other, "Ma réponse SIGNATUREUNIQUE.")
    kept = factories.make_reply(members["other_pair"], other, "Une réponse qui reste.")
    assert "2 résultats" in page(reader, "/recherche?q=signatureunique")

    account = client_for(leaver)
    form = page(account, "/compte")
    assert "Retirer aussi mes messages du forum" in form
    left = account.post(
        "/compte/quitter", data={"password": PASSWORD, "confirm": "y", "remove_posts": "y"}
    )
    assert left.status_code == 302

    db.session.expire_all()
    assert db.session.get(Topic, own.id).is_hidden
    hidden = db.session.get(Post, reply.id)
    assert hidden.is_hidden
    assert hidden.body_source == "Ma réponse SIGNATUREUNIQUE."  # nothing is lost
    assert "à son départ" in hidden.hidden_reason
    assert not db.session.get(Post, kept.id).is_hidden
    assert reader.get(f"/t/{own.id}").status_code == 404
    thread = page(reader, f"/t/{other.id}")
    assert "SIGNATUREUNIQUE" not in thread
    assert "Une réponse qui reste." in thread
    assert "Aucun résultat" in page(reader, "/recherche?q=signatureunique")
    assert_counters_right()
    [entry] = db.session.scalars(
        select(ModerationLog).where(ModerationLog.action == "hide_member_posts")
    ).all()
    assert (entry.target_id, entry.actor_id) == (leaver.id, leaver.id)
    assert "Messages d'un membre retirés à sa demande" in page(
        client_for(members["animation"]), "/moderation/journal"
    )


def test_without_asking_the_posts_of_a_member_who_leaves_stay(client_for, members, make_member):
    leaver = make_member(name=NAME, network="apec")
    topic = factories.make_topic(leaver, "premier-entretien", "Un cas qui reste", "Le cas.")
    leave(client_for(leaver))
    db.session.expire_all()
    assert not db.session.scalar(select(func.count(Post.id)).where(Post.is_hidden))
    assert "Le cas." in page(client_for(members["other_pair"]), f"/t/{topic.id}")


def test_an_admin_anonymising_a_member_at_their_request_may_hide_their_posts(
    client_for, members, make_member
) -> None:
    leaver = make_member(name=NAME, network="apec")
    topic = factories.make_topic(members["pair"], "premier-entretien", "Un cas", "Le cas.")
    reply = factories.make_reply(leaver, topic, "Une réponse à retirer.")
    admin = client_for(members["admin"])
    assert "masquer aussi tous ses messages" in page(admin, f"/admin/membres/{leaver.id}")
    done = admin.post(
        f"/admin/membres/{leaver.id}",
        data={"anonymise": "1", "confirm": "y", "remove_posts": "y"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, reply.id).is_hidden
    assert db.session.get(Member, leaver.id).state == "left"
