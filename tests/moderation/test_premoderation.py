"""Pre-moderation: a new member's first N posts wait in the queue before they appear
(setting `premoderation_posts`, admins only, default 0)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Post, Topic, TopicRead
from comcep.moderation import services as moderation
from comcep.moderation.models import Setting
from comcep.notifications.models import Notification
from tests.factories import category, make_reply, make_topic
from tests.moderation.helpers import (
    assert_counters_right,
    attach_file,
    counters,
    location,
    log_entries,
    plain,
    posts_of,
    reload,
    set_premoderation,
    text_of,
    topic_titles_in_list,
)


def test_only_admins_reach_the_moderation_settings(members, client_for) -> None:
    admin = client_for(members["admin"])
    page = admin.get("/moderation/reglages")
    assert page.status_code == 200
    assert 'value="0"' in page.text  # the default
    animation = client_for(members["animation"])
    assert animation.get("/moderation/reglages").status_code == 404
    assert set_premoderation(animation, "3").status_code == 404
    assert db.session.scalar(select(Setting)) is None


def test_a_bad_setting_is_refused(members, client_for) -> None:
    for value in ("-1", "abc", ""):
        assert set_premoderation(client_for(members["admin"]), value).status_code == 400
    assert db.session.scalar(select(Setting)) is None


@pytest.fixture
def newcomer(make_member):  # noqa: ANN201
    return make_member(statut="pair", network="apec", name="Nouvelle Recrue")


@pytest.fixture
def topic(members):  # noqa: ANN201
    return make_topic(members["pair"], title="Un sujet accueillant", body="Bienvenue à tous.")


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_a_new_members_first_post_waits_for_validation_then_the_next_one_is_published(
    members, client_for, newcomer, topic, staff
) -> None:
    response = set_premoderation(client_for(members["admin"]), "1")
    assert response.status_code == 302
    assert log_entries("settings")[0].actor_id == members["admin"].id

    author = client_for(newcomer)
    sent = author.post(
        f"/t/{topic.id}/repondre", data={"body": "Mon PREMIERMOT message.", "submit": "1"}
    )
    assert sent.status_code == 302
    pending = reload(Post, posts_of(topic.id)[1].id)
    assert pending.is_pending
    assert pending.is_hidden
    stored = reload(Topic, topic.id)
    assert stored.post_count == 1
    assert counters("premier-entretien") == (1, 1, posts_of(topic.id)[0].id)
    assert_counters_right()

    other = client_for(members["other_pair"])
    page = other.get(f"/t/{topic.id}")
    assert "PREMIERMOT" not in page.text
    assert "Nouvelle Recrue" not in text_of(page)
    assert other.get(f"/p/{pending.id}").status_code == 404
    assert "Aucun résultat" in plain(other.get("/recherche?q=premiermot").text)

    own = text_of(author.get(f"/t/{topic.id}"))
    assert "Mon PREMIERMOT message." in own
    assert "En attente de validation par l'équipe d'animation." in own

    queue = text_of(client_for(members[staff]).get("/moderation"))
    waiting = queue[queue.index("Messages en attente de validation") :]
    assert "Messages en attente de validation (1)" in queue
    assert "Mon PREMIERMOT message." in waiting
    assert "Nouvelle Recrue" in waiting

    approved = client_for(members[staff]).post(f"/p/{pending.id}/restaurer")
    assert approved.status_code == 302
    assert location(approved) == "/moderation"
    post = reload(Post, pending.id)
    assert not post.is_pending
    assert not post.is_hidden
    assert reload(Topic, topic.id).post_count == 2
    assert counters("premier-entretien") == (1, 2, pending.id)
    assert_counters_right()
    assert "Mon PREMIERMOT message." in text_of(other.get(f"/t/{topic.id}"))
    assert "1 résultat" in plain(other.get("/recherche?q=premiermot").text)
    assert "Aucun message en attente de validation." in text_of(
        client_for(members[staff]).get("/moderation")
    )

    author.post(f"/t/{topic.id}/repondre", data={"body": "Mon second message.", "submit": "1"})
    second = reload(Post, posts_of(topic.id)[2].id)
    assert not second.is_pending
    assert not second.is_hidden
    assert counters("premier-entretien") == (1, 3, second.id)
    assert_counters_right()


def test_without_pre_moderation_a_new_members_post_is_published_at_once(
    members, client_for, newcomer, topic
) -> None:
    client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": "Bonjour.", "submit": "1"})
    post = posts_of(topic.id)[1]
    assert not post.is_pending
    assert not post.is_hidden


def test_staff_posts_are_never_pre_moderated(members, client_for, topic) -> None:
    set_premoderation(client_for(members["admin"]), "5")
    client_for(members["animation"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Mot de l'animatrice.", "submit": "1"}
    )
    assert not posts_of(topic.id)[1].is_pending


def test_refusing_a_pending_post_takes_it_off_the_waiting_list(
    members, client_for, newcomer, topic
) -> None:
    set_premoderation(client_for(members["admin"]), "1")
    client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": "Publicité.", "submit": "1"})
    pending = posts_of(topic.id)[1]
    staff = client_for(members["animation"])
    refused = staff.post(f"/p/{pending.id}/masquer", data={"reason": "Publicité interdite."})
    assert refused.status_code == 302
    assert location(refused) == "/moderation"  # back to the waiting list
    post = reload(Post, pending.id)
    assert post.is_hidden
    assert not post.is_pending
    assert post.hidden_reason == "Publicité interdite."
    assert "Aucun message en attente de validation." in text_of(staff.get("/moderation"))
    assert "Publicité interdite." in text_of(client_for(newcomer).get(f"/t/{topic.id}"))
    # a refused post is not an approved one: the next post still waits
    client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": "Pardon.", "submit": "1"})
    assert posts_of(topic.id)[2].is_pending
    assert_counters_right()


def _moderation_badge(client) -> int:  # noqa: ANN001
    """The count in the header's « Modération » link (0 when it shows none)."""
    found = re.search(
        r'>Modération(?: <span class="badge badge--count">(\d+))?', client.get("/").text
    )
    assert found is not None
    return int(found.group(1) or 0)


def test_the_staff_header_counts_the_posts_awaiting_validation(
    members, client_for, newcomer, topic
) -> None:
    set_premoderation(client_for(members["admin"]), "1")
    staff = client_for(members["animation"])
    assert _moderation_badge(staff) == 0
    client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": "Bonjour.", "submit": "1"})
    assert _moderation_badge(staff) == 1
    pending = posts_of(topic.id)[1]
    approved = staff.post(f"/p/{pending.id}/restaurer")
    assert approved.status_code in (302, 303)
    assert _moderation_badge(staff) == 0


def test_a_post_awaiting_validation_shows_its_files_in_the_queue(
    members, client_for, newcomer, topic
) -> None:
    """The animatrice validates what will be published, files included."""
    set_premoderation(client_for(members["admin"]), "1")
    client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": "Mon CV.", "submit": "1"})
    pending = posts_of(topic.id)[1]
    cv = attach_file(pending, "CV de Jean TOTOCANARD.pdf", 2_000)
    page = client_for(members["animation"]).get("/moderation").text
    waiting = page[page.index('id="pending-title"') :]
    assert "CV de Jean TOTOCANARD.pdf" in waiting
    assert f'href="/pj/{cv.id}/CV%20de%20Jean%20TOTOCANARD.pdf"' in waiting


def test_a_new_members_first_topic_waits_in_the_queue_until_validated(
    members, client_for, newcomer
) -> None:
    set_premoderation(client_for(members["admin"]), "1")
    response = client_for(newcomer).post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Ma toute première question", "body": "Texte à valider.", "submit": "1"},
    )
    assert response.status_code == 302
    topic = db.session.scalar(select(Topic))
    assert topic.is_hidden
    assert counters("premier-entretien") == (0, 0, None)
    pair = client_for(members["pair"])
    assert pair.get(f"/t/{topic.id}").status_code == 404
    assert "Ma toute première question" not in text_of(pair.get("/actifs"))
    queue = text_of(client_for(members["animation"]).get("/moderation"))
    assert "Ma toute première question" in queue[queue.index("Messages en attente") :]

    opening = posts_of(topic.id)[0]
    client_for(members["animation"]).post(f"/p/{opening.id}/restaurer")
    assert not reload(Topic, topic.id).is_hidden
    assert counters("premier-entretien") == (1, 1, opening.id)
    assert_counters_right()
    assert pair.get(f"/t/{topic.id}").status_code == 200
    assert "Ma toute première question" in topic_titles_in_list(pair.get("/actifs").text)


def test_the_author_of_a_pending_first_topic_can_read_it_with_the_notice(
    members, client_for, newcomer
) -> None:
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    response = author.post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Ma toute première question", "body": "Texte à valider.", "submit": "1"},
    )
    page = author.get(location(response))
    assert page.status_code == 200
    assert "En attente de validation par l'équipe d'animation." in text_of(page)
    # A step, not a sanction (review of stop 52): no « Masqué » badge, no « masqué par la
    # modération » notice for a newcomer's first topic.
    assert "badge--pending" in page.text
    assert "badge--hidden" not in page.text
    assert "masqué par la modération" not in text_of(page)


def test_the_author_of_a_pending_post_is_told_once_it_is_published(
    members, client_for, newcomer, topic
) -> None:
    """The notice promised it: the newcomer is told « … a validé votre message : il est
    publié », and the notification leads to the post (review of stop 52)."""
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    author.post(f"/t/{topic.id}/repondre", data={"body": "Ma réponse.", "submit": "1"})
    pending = posts_of(topic.id)[1]
    assert pending.is_pending
    assert "a validé votre message" not in text_of(author.get("/notifications"))
    client_for(members["animation"]).post(f"/p/{pending.id}/restaurer")
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text_of(author.get("/notifications"))))
    assert "a validé votre message : il est publié" in page
    assert topic.title in page


def test_the_author_is_told_that_the_post_awaits_the_animatrice(
    members, client_for, newcomer, topic
) -> None:
    set_premoderation(client_for(members["admin"]), "2")
    author = client_for(newcomer)
    told = "attend sa validation et n'est visible que par vous"
    reply = author.post(
        f"/t/{topic.id}/repondre",
        data={"body": "Ma première réponse.", "submit": "1"},
        follow_redirects=True,
    )
    assert told in text_of(reply)
    assert "Votre réponse est publiée." not in text_of(reply)
    assert "En attente de validation par l'équipe d'animation." in text_of(reply)
    opened = author.post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Ma toute première question", "body": "Texte à valider.", "submit": "1"},
        follow_redirects=True,
    )
    assert told in text_of(opened)
    assert "Votre sujet est publié." not in text_of(opened)


def test_a_pending_post_is_not_edited_and_its_author_is_told_why(
    members, client_for, newcomer, topic
) -> None:
    """It is not « masqué par la modération »: it waits, and is edited once published."""
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    author.post(f"/t/{topic.id}/repondre", data={"body": "Ma première réponse.", "submit": "1"})
    pending = db.session.scalar(select(Post).where(Post.author_id == newcomer.id))
    assert pending.is_pending
    assert f'href="/p/{pending.id}/modifier"' not in author.get(f"/t/{topic.id}").text
    refused = author.get(f"/p/{pending.id}/modifier")
    assert refused.status_code == 403
    assert "attend la validation" in text_of(refused)
    assert "masqué" not in text_of(refused)


def test_a_reply_approved_after_readers_went_past_its_place_is_new_to_them(
    members, client_for, newcomer, topic
) -> None:
    """Read marks are post numbers: published as if written at approval (Discourse), a reply
    that waited comes after the posts written meanwhile, « non lu » for who had read them."""
    set_premoderation(client_for(members["admin"]), "1")
    client_for(newcomer).post(
        f"/t/{topic.id}/repondre", data={"body": "Une réponse qui attend.", "submit": "1"}
    )
    pending = posts_of(topic.id)[1]
    client_for(members["pair"]).post(  # has written before: published at once
        f"/t/{topic.id}/repondre", data={"body": "Une réponse publiée.", "submit": "1"}
    )
    reader = client_for(members["pilot_pair"])
    assert "Une réponse publiée." in text_of(reader.get(f"/t/{topic.id}"))
    assert f"/t/{topic.id}/" not in reader.get("/non-lus").text  # read to the end

    assert client_for(members["animation"]).post(f"/p/{pending.id}/restaurer").status_code == 302
    approved = reload(Post, pending.id)
    published = posts_of(topic.id)
    assert [p.id for p in published][-1] == pending.id
    assert approved.number == reload(Topic, topic.id).last_number
    assert approved.number > published[-2].number
    assert approved.created_at >= published[-2].created_at
    stored = reload(Topic, topic.id)
    assert (stored.last_post_id, stored.last_post_number) == (pending.id, approved.number)
    assert counters("premier-entretien") == (1, 3, pending.id)
    assert_counters_right()

    assert f"/t/{topic.id}/" in reader.get("/non-lus").text
    assert location(reader.get(f"/t/{topic.id}/premier-non-lu")) == f"/p/{pending.id}"
    page = text_of(reader.get(f"/t/{topic.id}"))
    assert page.index("Une réponse publiée.") < page.index("Une réponse qui attend.")


def test_the_author_of_an_approved_reply_does_not_find_it_unread(
    members, client_for, newcomer, topic
) -> None:
    """The author read their reply when writing it: renumbered past the posts written
    meanwhile, it does not come back « non lu » to them (Discourse marks it read for them)."""
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    author.post(f"/t/{topic.id}/repondre", data={"body": "Ma réponse en attente.", "submit": "1"})
    pending = posts_of(topic.id)[1]
    assert reload(Post, pending.id).is_pending
    # Another member answers meanwhile; the author reads the topic to its end.
    client_for(members["pair"]).post(  # has written before: published at once
        f"/t/{topic.id}/repondre", data={"body": "Une réponse publiée.", "submit": "1"}
    )
    assert "Une réponse publiée." in text_of(author.get(f"/t/{topic.id}"))
    assert f"/t/{topic.id}/" not in author.get("/non-lus").text

    assert client_for(members["animation"]).post(f"/p/{pending.id}/restaurer").status_code == 302
    assert not reload(Post, pending.id).is_pending

    # Nothing new for the author: only their own reply was published.
    assert f"/t/{topic.id}/" not in author.get("/non-lus").text


def test_an_author_who_marked_everything_read_does_not_find_their_approved_reply_unread(
    members, client_for, newcomer, topic
) -> None:
    """As above, the author having caught up with « Marquer les forums comme lus » (the
    lists count that date as read) instead of opening the topic."""
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    author.post(f"/t/{topic.id}/repondre", data={"body": "Ma réponse en attente.", "submit": "1"})
    pending = posts_of(topic.id)[1]
    assert reload(Post, pending.id).is_pending
    client_for(members["pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Une réponse publiée.", "submit": "1"}
    )
    assert f"/t/{topic.id}/" in author.get("/non-lus").text
    assert author.post("/marquer-lus").status_code in (302, 303)
    assert f"/t/{topic.id}/" not in author.get("/non-lus").text

    assert client_for(members["animation"]).post(f"/p/{pending.id}/restaurer").status_code == 302
    assert not reload(Post, pending.id).is_pending

    # Nothing new for the author: only their own reply was published.
    assert f"/t/{topic.id}/" not in author.get("/non-lus").text


# --- Refused before publication: like a pending post, for good ----------------------------


def _refused_reply(members, client_for, newcomer, topic, body: str = "Ma réponse REFUSMOT."):  # noqa: ANN001, ANN202
    """A newcomer's first reply, refused by the animatrice: (the post, the staff's client)."""
    set_premoderation(client_for(members["admin"]), "1")
    sent = client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": body, "submit": "1"})
    assert sent.status_code == 302
    pending = posts_of(topic.id)[-1]
    assert pending.is_pending
    staff = client_for(members["animation"])
    refused = staff.post(f"/p/{pending.id}/masquer", data={"reason": "Hors charte."})
    assert refused.status_code == 302
    return reload(Post, pending.id), staff


def test_a_refused_reply_is_marked_refused_not_merely_hidden(
    members, client_for, newcomer, topic
) -> None:
    post, _staff = _refused_reply(members, client_for, newcomer, topic)
    assert post.is_refused
    assert post.is_hidden
    assert not post.is_pending
    assert [e.action for e in log_entries() if e.target_id == post.id] == ["refuse_post"]
    journal = text_of(client_for(members["animation"]).get("/moderation/journal"))
    assert "Message refusé (pré-modération)" in journal
    # A published post hidden afterwards is not « refused ».
    client_for(members["pair"]).post(  # has written before: published at once
        f"/t/{topic.id}/repondre", data={"body": "Publié.", "submit": "1"}
    )
    published = next(p for p in posts_of(topic.id) if p.body_source == "Publié.")
    client_for(members["animation"]).post(
        f"/p/{published.id}/masquer", data={"reason": "Propos déplacés."}
    )
    hidden = reload(Post, published.id)
    assert hidden.is_hidden
    assert not hidden.is_refused


def test_a_refused_reply_stays_out_of_other_readers_sight_as_a_pending_one_does(
    members, client_for, newcomer, topic
) -> None:
    """Never published: no « Message masqué » in its place, no permalink, no quote, for
    anyone but its author and the staff (Discourse drops a rejected queued post)."""
    post, staff = _refused_reply(members, client_for, newcomer, topic)
    other = client_for(members["other_pair"])
    page = other.get(f"/t/{topic.id}")
    assert page.status_code == 200
    assert f'id="p{post.id}"' not in page.text
    assert "Message masqué" not in text_of(page)
    assert "masqué par la modération" not in text_of(page)
    assert "Nouvelle Recrue" not in text_of(page)
    assert other.get(f"/p/{post.id}").status_code == 404
    assert other.get(f"/t/{topic.id}/repondre?citer={post.id}").status_code == 404
    assert other.get(f"/p/{post.id}/historique").status_code == 404
    assert "Aucun résultat" in plain(other.get("/recherche?q=refusmot").text)
    # Nothing was ever counted for it.
    assert reload(Topic, topic.id).post_count == 1
    assert counters("premier-entretien") == (1, 1, posts_of(topic.id)[0].id)
    assert_counters_right()

    own = client_for(newcomer)
    assert own.get(f"/p/{post.id}").status_code == 302
    mine = text_of(own.get(f"/t/{topic.id}"))
    assert "Ma réponse REFUSMOT." in mine
    assert "Message non publié" in mine
    assert "Hors charte." in mine

    seen = staff.get(f"/t/{topic.id}")
    assert f'id="p{post.id}"' in seen.text
    assert "Message non publié" in text_of(seen)
    assert f'action="/p/{post.id}/restaurer"' in seen.text
    assert ">Publier</button>" in seen.text


def test_a_refused_first_topic_stays_invisible_to_others_and_says_not_published(
    members, client_for, newcomer
) -> None:
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    author.post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Sujet jamais publié", "body": "Texte refusé.", "submit": "1"},
    )
    topic = db.session.scalar(select(Topic))
    opening = posts_of(topic.id)[0]
    client_for(members["animation"]).post(
        f"/p/{opening.id}/masquer", data={"reason": "Un nom de bénéficiaire."}
    )
    assert reload(Post, opening.id).is_refused
    assert reload(Topic, topic.id).is_hidden
    assert counters("premier-entretien") == (0, 0, None)
    pair = client_for(members["pair"])
    assert pair.get(f"/t/{topic.id}").status_code == 404
    assert pair.get(f"/p/{opening.id}").status_code == 404
    assert "Sujet jamais publié" not in text_of(pair.get("/actifs"))
    page = author.get(f"/t/{topic.id}")
    assert page.status_code == 200
    assert "Non publié" in text_of(page)
    assert "Un nom de bénéficiaire." in text_of(page)


def test_a_refused_reply_after_a_full_page_leaves_nobody_an_empty_page(
    app, monkeypatch, members, client_for, newcomer, topic
) -> None:
    """Pages are ranges of post numbers: a refused reply takes none (numbered below 0), so
    it opens no page past the last full one, for other readers or for its author and the
    staff, who find it at the end of the last page."""
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    client_for(members["other_pair"]).post(
        f"/t/{topic.id}/repondre", data={"body": "Deuxième.", "submit": "1"}
    )
    post, staff = _refused_reply(members, client_for, newcomer, topic)
    assert post.number < 0
    for client in (client_for(members["pair"]), client_for(newcomer), staff):
        first = client.get(f"/t/{topic.id}")
        assert "?page=2" not in first.text
        assert "Deuxième." in text_of(client.get(f"/t/{topic.id}?page=2"))  # back to page 1
    for client in (client_for(newcomer), staff):
        page = plain(client.get(f"/t/{topic.id}").text)
        assert page.index("Deuxième.") < page.index("Ma réponse REFUSMOT.")
        assert "non publié · " in page  # in place of its number
    assert "REFUSMOT" not in text_of(client_for(members["pair"]).get(f"/t/{topic.id}"))


def test_publishing_a_refused_reply_numbers_and_dates_it_as_a_validation_does(
    members, client_for, newcomer, topic
) -> None:
    """« Publier » (the « Restaurer » of a refused post) revises the refusal: its readers
    never saw it, so it comes out as if written now, after the replies written meanwhile,
    « non lu » for those who read them, and its author is told it is published."""
    post, staff = _refused_reply(members, client_for, newcomer, topic)
    client_for(members["pair"]).post(  # has written before: published at once
        f"/t/{topic.id}/repondre", data={"body": "Écrite entre-temps.", "submit": "1"}
    )
    reader = client_for(members["pilot_pair"])
    reader.get(f"/t/{topic.id}")
    assert f"/t/{topic.id}/" not in reader.get("/non-lus").text

    published = staff.post(f"/p/{post.id}/restaurer")
    assert published.status_code == 302
    assert location(published) == f"/p/{post.id}"
    stored = reload(Post, post.id)
    assert not stored.is_hidden
    assert not stored.is_refused
    assert stored.hidden_reason == ""
    meanwhile = posts_of(topic.id)[-2]
    assert stored.number == reload(Topic, topic.id).last_number > meanwhile.number
    assert stored.created_at >= meanwhile.created_at
    assert counters("premier-entretien") == (1, 3, post.id)
    assert_counters_right()
    assert log_entries("restore_post")[-1].target_id == post.id

    assert f"/t/{topic.id}/" in reader.get("/non-lus").text
    page = text_of(reader.get(f"/t/{topic.id}"))
    assert page.index("Écrite entre-temps.") < page.index("Ma réponse REFUSMOT.")
    unread = db.session.scalars(
        select(Notification.kind).where(
            Notification.member_id == newcomer.id, Notification.read_at.is_(None)
        )
    ).all()
    assert unread == ["post_approved"]  # the refusal's notice no longer holds
    told = plain(client_for(newcomer).get("/notifications").text)
    assert "a validé votre message : il est publié" in told
    assert "a rétabli" not in told


def _withdrawn_at_departure(members, client_for, newcomer, topic) -> Post:  # noqa: ANN001
    """A newcomer's first reply, still waiting when they leave asking their posts removed."""
    set_premoderation(client_for(members["admin"]), "1")
    client_for(newcomer).post(f"/t/{topic.id}/repondre", data={"body": "Adieu.", "submit": "1"})
    pending = posts_of(topic.id)[1]
    moderation.hide_member_posts(members["admin"], newcomer)
    db.session.commit()
    return reload(Post, pending.id)


def test_a_pending_post_removed_when_its_author_leaves_stays_out_of_sight(
    members, client_for, newcomer, topic
) -> None:
    """Withdrawn before it was published: no « Message masqué » either."""
    pending = _withdrawn_at_departure(members, client_for, newcomer, topic)
    assert pending.is_refused
    page = client_for(members["other_pair"]).get(f"/t/{topic.id}")
    assert f'id="p{pending.id}"' not in page.text
    assert "Message masqué" not in text_of(page)


def test_the_staff_read_that_a_post_withdrawn_at_departure_was_not_refused_by_them(
    members, client_for, newcomer, topic
) -> None:
    """The team did not refuse it: its author withdrew it as they left (review of stop 54)."""
    _withdrawn_at_departure(members, client_for, newcomer, topic)
    page = plain(client_for(members["animation"]).get(f"/t/{topic.id}").text)
    assert "l'équipe d'animation ne l'a pas validé" not in page
    assert "retiré par son auteur à son départ de la ComCEP, avant sa validation" in page


def test_a_refusal_s_reason_is_quoted_without_doubled_punctuation(
    members, client_for, newcomer, topic
) -> None:
    post, staff = _refused_reply(members, client_for, newcomer, topic)
    page = plain(staff.get(f"/t/{topic.id}").text)
    assert "ne l'a pas validé. Raison : Hors charte. Seuls son auteur" in page
    assert ".)." not in page


@pytest.mark.parametrize("refused_first", [True, False])
def test_a_waiting_topic_published_with_its_authors_reply_waiting_reads_as_new(
    members, client_for, newcomer, refused_first
) -> None:
    """Its opening post is dated at publication even when the topic holds more posts (its
    author's reply, waiting too): dated before, it passed for read with whoever used « tout
    marquer comme lu » while it waited (review of stop 54)."""
    set_premoderation(client_for(members["admin"]), "2")
    author = client_for(newcomer)
    data = {"title": "Mon sujet TITREATTENTE", "body": "Premier texte.", "submit": "1"}
    assert author.post("/r/premier-entretien/nouveau-sujet", data=data).status_code == 302
    waiting = db.session.scalar(select(Topic).order_by(Topic.id.desc()))
    sent = author.post(f"/t/{waiting.id}/repondre", data={"body": "Je complète.", "submit": "1"})
    assert sent.status_code == 302
    opening = posts_of(waiting.id)[0]
    staff = client_for(members["animation"])
    if refused_first:
        staff.post(f"/p/{opening.id}/masquer", data={"reason": "Hors charte."})
    reader = client_for(members["other_pair"])
    assert reader.post("/marquer-lus", data={}).status_code == 302
    published = staff.post(f"/p/{opening.id}/restaurer", data={"reason": ""})
    assert published.status_code == 302
    assert not reload(Topic, waiting.id).is_hidden
    assert "TITREATTENTE" in text_of(reader.get("/non-lus"))


def test_a_split_opens_its_topic_with_the_first_published_post_and_counts_only_those(
    members, client_for, newcomer, topic
) -> None:
    """A refused reply split out with a published one: the new topic opens with the
    published one, shown to all (its author included), and the note tells the readers of
    the original topic of the one post they could see go (review of stop 54)."""
    refused, _staff = _refused_reply(members, client_for, newcomer, topic)
    published = make_reply(members["pair"], topic, "Une réponse publiée.")
    new = moderation.split_topic(
        members["animation"],
        reload(Topic, topic.id),
        [refused.id, published.id],
        "Nouveau sujet",
        category("premier-entretien"),
    )
    db.session.commit()
    new = reload(Topic, new.id)
    assert not new.is_hidden
    assert new.author_id == members["pair"].id
    assert [(p.id, p.number) for p in posts_of(new.id)] == [(published.id, 1), (refused.id, -1)]
    assert reload(Topic, new.id).last_number == 1
    for reader in ("pair", "pilot_pair"):
        assert client_for(members[reader]).get(f"/p/{published.id}").status_code == 302
    note = text_of(client_for(members["pilot_pair"]).get(f"/t/{topic.id}"))
    assert "1 message a été déplacé" in note
    assert "2 messages ont été déplacés" not in note
    assert_counters_right()


def test_a_split_of_posts_none_of_them_published_is_refused_in_french(
    members, client_for, newcomer, topic
) -> None:
    refused, staff = _refused_reply(members, client_for, newcomer, topic)
    answer = staff.post(
        f"/t/{topic.id}/diviser",
        data={
            "posts": [str(refused.id)],
            "title": "Un sujet de refus",
            "category": str(topic.category_id),
        },
    )
    assert answer.status_code == 400
    assert "Aucun des messages choisis n'est publié" in text_of(answer)
    assert reload(Post, refused.id).topic_id == topic.id


# --- A reply waiting takes no place in its topic's numbers -----------------------------------


def _unread_in_list(client) -> str:  # noqa: ANN001
    """The « non lus » page's text."""
    return plain(client.get("/non-lus").text)


def _read_mark(member, topic) -> int | None:  # noqa: ANN001
    db.session.expire_all()
    return db.session.scalar(
        select(TopicRead.last_read_number).where(
            TopicRead.member_id == member.id, TopicRead.topic_id == topic.id
        )
    )


def test_a_waiting_reply_leaves_readers_no_gap_and_nothing_unread_until_published(
    members, client_for, newcomer, topic
) -> None:
    """Numbered when it waits, the reply left a gap (#1, #2, #4) and « 2 non lus » over the
    one post readers could see: something was written there. It takes its number when
    published, next to the last one readers saw."""
    make_reply(members["other_pair"], topic, "Deuxième message.")
    set_premoderation(client_for(members["admin"]), "1")
    reader = client_for(members["pilot_pair"])
    reader.get(f"/t/{topic.id}")  # read to #2
    client_for(newcomer).post(
        f"/t/{topic.id}/repondre", data={"body": "Ma réponse ATTENTEMOT.", "submit": "1"}
    )
    pending = posts_of(topic.id)[-1]
    assert pending.is_pending
    assert pending.number < 0
    stored = reload(Topic, topic.id)
    assert (stored.last_number, stored.last_post_number) == (2, 2)
    assert f"/t/{topic.id}/" not in reader.get("/non-lus").text
    assert_counters_right()

    assert client_for(members["animation"]).post(f"/p/{pending.id}/restaurer").status_code == 302
    assert [p.number for p in posts_of(topic.id)] == [1, 2, 3]
    assert reload(Post, pending.id).number == 3
    unread = _unread_in_list(reader)
    assert "1 non lu" in unread
    assert "2 non lus" not in unread
    page = plain(reader.get(f"/t/{topic.id}").text)
    assert "#3 · " in page
    assert "#4" not in page
    assert_counters_right()


def test_a_refused_reply_changes_nothing_for_other_readers(
    members, client_for, newcomer, topic
) -> None:
    """Refused, it never takes a place: the next reply follows the last one readers saw."""
    reader = client_for(members["pilot_pair"])
    reader.get(f"/t/{topic.id}")  # read to #1
    post, _staff = _refused_reply(members, client_for, newcomer, topic)
    assert post.number < 0
    assert reload(Topic, topic.id).last_number == 1
    assert f"/t/{topic.id}/" not in reader.get("/non-lus").text
    following = make_reply(members["pair"], topic, "La suite.")  # has written: published
    assert reload(Post, following.id).number == 2
    unread = _unread_in_list(reader)
    assert "1 non lu" in unread
    assert "2 non lus" not in unread
    assert_counters_right()


def test_its_author_and_the_staff_find_a_waiting_reply_last_without_reading_past_the_end(
    app, monkeypatch, members, client_for, newcomer, topic
) -> None:
    """Shown last on the last page to whom the page lists it, with its notice; its
    permalink leads there; reading it moves no read mark past the topic's last place (a
    reply published later would pass for read)."""
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    make_reply(members["other_pair"], topic, "Deuxième message.")
    make_reply(members["other_pair"], topic, "Troisième message.")
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    author.post(f"/t/{topic.id}/repondre", data={"body": "Ma réponse ATTENTEMOT.", "submit": "1"})
    pending = posts_of(topic.id)[-1]
    assert pending.is_pending
    staff_member = members["animation"]
    for member, client in ((newcomer, author), (staff_member, client_for(staff_member))):
        first = client.get(f"/t/{topic.id}")
        assert "ATTENTEMOT" not in first.text
        assert "?page=3" not in first.text
        last = plain(client.get(f"/t/{topic.id}?page=2").text)
        assert last.index("Troisième message.") < last.index("Ma réponse ATTENTEMOT.")
        assert "En attente de validation par l'équipe d'animation." in last
        assert "en attente de validation · " in last  # in place of its number
        assert location(client.get(f"/p/{pending.id}")) == f"/t/{topic.id}/{topic.slug}?page=2"
        assert _read_mark(member, topic) == 3
    reader = client_for(members["pair"])
    assert "ATTENTEMOT" not in reader.get(f"/t/{topic.id}?page=2").text
    assert reader.get(f"/p/{pending.id}").status_code == 404

    make_reply(members["pair"], topic, "Quatrième message.")  # has written: published
    assert f"/t/{topic.id}/" in author.get("/non-lus").text
    assert "1 non lu" in _unread_in_list(author)


def test_waiting_replies_come_after_the_last_page_s_places_in_the_order_written(
    app, monkeypatch, members, client_for, newcomer, topic
) -> None:
    """The page's two ranges (its places, then the replies numbered -1, -2…) are put in
    order by `topic_posts`, not by SQL: places first, then the waiting replies as written."""
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    make_reply(members["other_pair"], topic, "Deuxième message.")
    make_reply(members["other_pair"], topic, "Troisième message.")
    set_premoderation(client_for(members["admin"]), "1")
    author = client_for(newcomer)
    for body in ("Réponse PREMIEREATTENTE.", "Réponse SECONDEATTENTE."):
        sent = author.post(f"/t/{topic.id}/repondre", data={"body": body, "submit": "1"})
        assert sent.status_code == 302
    assert [p.number for p in posts_of(topic.id) if p.is_pending] == [-1, -2]
    last = plain(client_for(members["animation"]).get(f"/t/{topic.id}?page=2").text)
    assert (
        last.index("Troisième message.")
        < last.index("PREMIEREATTENTE")
        < last.index("SECONDEATTENTE")
    )


def test_a_merge_keeps_a_waiting_reply_out_of_the_numbers(
    members, client_for, newcomer, topic
) -> None:
    """Split and merge number a topic's places again: a reply waiting stays apart."""
    set_premoderation(client_for(members["admin"]), "1")
    client_for(newcomer).post(
        f"/t/{topic.id}/repondre", data={"body": "En attente.", "submit": "1"}
    )
    pending = posts_of(topic.id)[-1]
    target = make_topic(members["pair"], title="Un autre sujet", body="Autre début.")
    make_reply(members["pair"], target, "Autre suite.")
    moderation.merge_topics(members["animation"], reload(Topic, topic.id), reload(Topic, target.id))
    db.session.commit()
    numbers = [(p.id == pending.id, p.number) for p in posts_of(target.id)]
    assert numbers == [(False, 1), (False, 2), (False, 3), (True, -1)]
    assert reload(Topic, target.id).last_number == 3
    assert reload(Post, pending.id).is_pending
    assert_counters_right()


def test_a_published_topic_merged_into_one_awaiting_validation_does_not_publish_it(
    members, client_for, newcomer, topic
) -> None:
    """An older published topic merged into a newcomer's topic awaiting validation took
    its n° 1 by date: the topic stayed hidden on a published first post, and hiding then
    restoring that post (« Restaurer ») showed the topic to everyone, its title never
    validated and its own first post still waiting."""
    set_premoderation(client_for(members["admin"]), "1")
    sent = client_for(newcomer).post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Un titre jamais validé", "body": "En attente de relecture."},
    )
    assert sent.status_code == 302
    waiting = db.session.scalar(select(Topic).where(Topic.title == "Un titre jamais validé"))
    older = posts_of(topic.id)[0]
    anim = client_for(members["animation"])
    merged = anim.post(
        f"/t/{topic.id}/fusionner",
        data={"target": str(waiting.id), "reason": "", "confirm_widening": "y"},
    )
    assert merged.status_code == 302
    first = posts_of(waiting.id)[0]
    assert first.is_pending  # the topic still opens on its own waiting post
    assert anim.post(f"/p/{older.id}/masquer", data={"reason": "À revoir."}).status_code == 302
    assert anim.post(f"/p/{older.id}/restaurer", data={"reason": ""}).status_code == 302
    assert reload(Topic, waiting.id).is_hidden
    listing = client_for(members["other_pair"]).get("/r/premier-entretien").text
    assert "Un titre jamais validé" not in listing
    assert_counters_right()
