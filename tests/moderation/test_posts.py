"""Post actions: hide and restore with a reason (soft delete), hiding the opening post,
editing any post with its history, and the counters, « dernier message » and unread
markers after each (SPEC §6, issue 4 points 2 and 7)."""

from __future__ import annotations

import pytest

from comcep.forum.models import Post, PostRevision, Topic
from tests.factories import make_reply, make_topic
from tests.moderation.helpers import (
    assert_counters_right,
    count,
    counters,
    index_row,
    location,
    log_entries,
    plain,
    posts_of,
    reload,
    text_of,
    topic_titles_in_list,
    without_csrf,
)


@pytest.fixture
def topic(members) -> Topic:
    return make_topic(
        members["pair"],
        title="Le bilan de compétences à distance",
        body="Vos retours sur le bilan en visio ?",
        replies=[
            (members["other_pair"], "Très bien pour les actifs pressés."),
            (members["pilot_pair"], "Réponse à masquer : propos déplacés."),
        ],
    )


def hide(client, post_id: int, reason: str = "Propos déplacés."):  # noqa: ANN001, ANN201
    return client.post(f"/p/{post_id}/masquer", data={"reason": reason})


def restore(client, post_id: int, reason: str = ""):  # noqa: ANN001, ANN201
    return client.post(f"/p/{post_id}/restaurer", data={"reason": reason})


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_staff_hide_a_post_with_a_reason_and_its_text_stays_in_the_database(
    members, client_for, topic, staff
) -> None:
    last = posts_of(topic.id)[2]
    client = client_for(members[staff])
    form = client.get(f"/p/{last.id}/masquer")
    assert form.status_code == 200
    assert "Réponse à masquer" in text_of(form)
    response = hide(client, last.id, "Propos déplacés envers un collègue.")
    assert response.status_code == 302
    assert location(response) == f"/p/{last.id}"
    post = reload(Post, last.id)
    assert post.is_hidden
    assert post.hidden_reason == "Propos déplacés envers un collègue."
    assert post.hidden_by_id == members[staff].id
    assert post.body_source == "Réponse à masquer : propos déplacés."
    [entry] = log_entries()
    assert (entry.action, entry.actor_id, entry.target_id, entry.reason) == (
        "hide_post",
        members[staff].id,
        last.id,
        "Propos déplacés envers un collègue.",
    )
    assert "Propos déplacés envers un collègue." in text_of(
        client_for(members["pilot_pair"]).get(f"/t/{topic.id}")
    )


def test_hiding_without_a_reason_is_refused(members, client_for, topic) -> None:
    last = posts_of(topic.id)[2]
    response = hide(client_for(members["animation"]), last.id, "  ")
    assert response.status_code == 400
    assert "Indiquez la raison." in text_of(response)
    assert not reload(Post, last.id).is_hidden
    assert log_entries() == []


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_restoring_a_hidden_post_makes_it_visible_again(members, client_for, topic, staff) -> None:
    last = posts_of(topic.id)[2]
    client = client_for(members[staff])
    hide(client, last.id)
    response = restore(client, last.id, "Après discussion avec l'auteur.")
    assert response.status_code == 302
    post = reload(Post, last.id)
    assert not post.is_hidden
    assert post.hidden_reason == ""
    assert "Réponse à masquer" in text_of(client_for(members["pair"]).get(f"/t/{topic.id}"))
    assert [(e.action, e.reason) for e in log_entries()] == [
        ("hide_post", "Propos déplacés."),
        ("restore_post", "Après discussion avec l'auteur."),
    ]


def test_a_hidden_post_is_a_placeholder_for_pairs_and_its_address_leads_there(
    members, client_for, topic
) -> None:
    """Its permalink (in a quote of it, say) leads to its place on the topic, where the
    notice stands: it answered 404, « page introuvable » (found by a UX review). Its text,
    history and report form stay closed."""
    last = posts_of(topic.id)[2]
    hide(client_for(members["animation"]), last.id, "Raison pour l'auteur.")
    client = client_for(members["pair"])
    page = text_of(client.get(f"/t/{topic.id}"))
    assert "Réponse à masquer" not in page
    assert "Raison pour l'auteur." not in page
    assert "Ce message a été masqué par la modération." in page
    permalink = client.get(f"/p/{last.id}")
    assert permalink.status_code == 302
    assert permalink.headers["Location"].endswith(f"#p{last.id}")
    assert f'id="p{last.id}"' in client.get(permalink.headers["Location"]).text
    assert client.get(f"/p/{last.id}/historique").status_code == 404
    assert client.get(f"/p/{last.id}/signaler").status_code == 404


# Whom a hidden reply's text opens for: its author and the staff, not the topic's author.
PERMALINK = {"pair": False, "pilot_pair": True, "animation": True, "admin": True}


@pytest.mark.parametrize(("role", "opens"), list(PERMALINK.items()), ids=list(PERMALINK))
def test_a_hidden_reply_links_its_permalink_only_for_whom_its_text_opens(
    members, client_for, topic, role, opens
) -> None:
    """The page links « #3 » for those who read the post; for the others its permalink
    only leads back to the notice in its place."""
    last = posts_of(topic.id)[2]  # written by pilot_pair
    hide(client_for(members["animation"]), last.id)
    client = client_for(members[role])
    page = client.get(f"/t/{topic.id}")
    assert (f'href="/p/{last.id}"' in page.text) is opens
    assert "#3 · " in text_of(page)
    assert client.get(f"/p/{last.id}").status_code == 302


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_staff_lists_show_a_topic_whose_only_post_is_hidden(members, client_for, staff) -> None:
    """Such a topic has no « dernier message » left to link to: its row once made the
    staff's lists answer 500 (found by tests/test_crawl.py)."""
    lone = make_topic(members["pair"], title="Un sujet seul, masqué")
    hide(client_for(members["animation"]), posts_of(lone.id)[0].id)
    client = client_for(members[staff])
    for url in ("/actifs", "/r/premier-entretien"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Un sujet seul, masqué" in topic_titles_in_list(response.text)


def test_hiding_the_opening_post_hides_the_topic_from_members_but_not_from_staff(
    members, client_for, topic
) -> None:
    opening = posts_of(topic.id)[0]
    hide(client_for(members["animation"]), opening.id, "Sujet en double.")
    assert reload(Topic, topic.id).is_hidden
    pair = client_for(members["other_pair"])
    assert pair.get(f"/t/{topic.id}").status_code == 404
    assert pair.get(f"/p/{posts_of(topic.id)[1].id}").status_code == 404
    assert "Le bilan de compétences à distance" not in text_of(pair.get("/actifs"))
    assert "Le bilan de compétences à distance" not in text_of(pair.get("/r/premier-entretien"))
    assert counters("premier-entretien") == (0, 0, None)
    assert_counters_right()
    for staff in ("animation", "admin"):
        page = client_for(members[staff]).get(f"/t/{topic.id}")
        assert page.status_code == 200
        assert "Vos retours sur le bilan en visio ?" in text_of(page)
        assert "Masqué" in text_of(page)
    # restoring the opening post brings the topic back
    restore(client_for(members["animation"]), opening.id)
    assert not reload(Topic, topic.id).is_hidden
    assert pair.get(f"/t/{topic.id}").status_code == 200
    assert counters("premier-entretien") == (1, 3, posts_of(topic.id)[2].id)
    assert_counters_right()


def test_a_hidden_topic_gives_the_same_404_as_a_missing_one(members, client_for, topic) -> None:
    hide(client_for(members["animation"]), posts_of(topic.id)[0].id)
    pair = client_for(members["other_pair"])
    hidden = pair.get(f"/t/{topic.id}")
    missing = pair.get(f"/t/{topic.id + 1000}")
    assert hidden.status_code == missing.status_code == 404
    assert without_csrf(hidden.text) == without_csrf(missing.text)


def test_topic_rubrique_and_index_counters_follow_hide_and_restore(
    members, client_for, topic
) -> None:
    opening, middle, last = posts_of(topic.id)
    assert counters("premier-entretien") == (1, 3, last.id)
    staff = client_for(members["animation"])

    hide(staff, last.id)
    stored = reload(Topic, topic.id)
    assert (stored.post_count, stored.last_post_id, stored.last_poster_id) == (
        2,
        middle.id,
        members["other_pair"].id,
    )
    assert stored.last_post_at == middle.created_at
    assert counters("premier-entretien") == (1, 2, middle.id)
    assert_counters_right()
    row = index_row(client_for(members["pair"]).get("/").text, "Le premier entretien")
    assert "Sujets : 1" in row
    assert "Messages : 2" in row
    assert "par Paire Deux le" in row

    hide(staff, middle.id)
    assert counters("premier-entretien") == (1, 1, opening.id)
    row = index_row(client_for(members["pair"]).get("/").text, "Le premier entretien")
    assert "Messages : 1" in row
    assert "par Paire Un le" in row
    assert_counters_right()

    restore(staff, last.id)
    restore(staff, middle.id)
    stored = reload(Topic, topic.id)
    assert (stored.post_count, stored.last_post_id) == (3, last.id)
    assert counters("premier-entretien") == (1, 3, last.id)
    row = index_row(client_for(members["pair"]).get("/").text, "Le premier entretien")
    assert "Messages : 3" in row
    assert "par Paire Pilote le" in row
    assert_counters_right()


def test_after_hiding_the_last_post_the_topic_is_not_unread_for_a_member_who_read_everything(
    members, client_for, topic
) -> None:
    reader = client_for(members["other_pair"])
    assert reader.get(f"/t/{topic.id}").status_code == 200  # reads up to the last post
    assert "Le bilan de compétences à distance" not in topic_titles_in_list(
        reader.get("/non-lus").text
    )
    newcomer = make_reply(members["pilot_pair"], topic, "Un nouveau message, vite masqué.")
    assert "Le bilan de compétences à distance" in topic_titles_in_list(reader.get("/non-lus").text)
    hide(client_for(members["animation"]), newcomer.id)
    assert "Le bilan de compétences à distance" not in topic_titles_in_list(
        reader.get("/non-lus").text
    )
    listing = reader.get("/r/premier-entretien").text
    assert "topic-row--unread" not in listing


def test_staff_edit_any_post_and_the_previous_version_is_kept(members, client_for, topic) -> None:
    middle = posts_of(topic.id)[1]
    for staff in ("animation", "admin"):
        response = client_for(members[staff]).post(
            f"/p/{middle.id}/modifier",
            data={"body": f"Texte corrigé par {staff}.", "submit": "1"},
        )
        assert response.status_code == 302
    post = reload(Post, middle.id)
    assert post.body_source == "Texte corrigé par admin."
    assert post.revision_count == 2
    assert count(PostRevision) == 2
    history = client_for(members["pair"]).get(f"/p/{middle.id}/historique")
    assert history.status_code == 200
    text = plain(history.text)
    assert "Très bien pour les actifs pressés." in text
    assert "Texte corrigé par animation." in text
    assert "Texte corrigé par admin." in text
    assert "par Animatrice" in text
    assert "par Admin" in text
    assert count(Post) == 3


def test_the_animatrice_hides_a_posts_earlier_versions_from_its_readers_and_shows_them_again(
    members, client_for, topic
) -> None:
    """A beneficiary's name edited out of a post stays in its history: the animatrice hides
    the earlier versions from the members (kept, read by the staff, journaled), then may show
    them again."""
    middle = posts_of(topic.id)[1]
    author = client_for(members["other_pair"])
    assert (
        author.post(
            f"/p/{middle.id}/modifier", data={"body": "Mme D. est très satisfaite.", "submit": "1"}
        ).status_code
        == 302
    )
    reader, animatrice = client_for(members["pair"]), client_for(members["animation"])
    url = f"/p/{middle.id}/historique"
    assert "Très bien pour les actifs pressés." in plain(reader.get(url).text)
    staff_page = plain(animatrice.get(url).text)
    assert "Masquer les versions précédentes aux membres" in staff_page
    assert "Masquer les versions" not in plain(reader.get(url).text)

    hidden = animatrice.post(f"{url}/masquer", data={"reason": "Nom d'une bénéficiaire."})
    assert hidden.status_code == 302
    assert location(hidden) == url
    for who in ("pair", "other_pair"):  # a reader, and the post's author
        page = plain(client_for(members[who]).get(url).text)
        assert "Très bien pour les actifs pressés." not in page
        assert "1 version précédente a été masquée par l'équipe d'animation." in page
        assert "Mme D. est très satisfaite." in page  # the current version stays
        assert "jamais été modifié" not in page
    staff_page = plain(animatrice.get(url).text)
    assert "Très bien pour les actifs pressés." in staff_page
    assert "masquée aux membres" in staff_page
    assert "Rendre les versions masquées de nouveau visibles" in staff_page
    assert "Masquer les versions précédentes aux membres" not in staff_page  # none left
    assert count(PostRevision) == 1
    entry = log_entries("hide_revisions")[-1]
    assert (entry.target_id, entry.reason) == (middle.id, "Nom d'une bénéficiaire.")

    shown = animatrice.post(f"{url}/retablir", data={"reason": ""})
    assert shown.status_code == 302
    assert "Très bien pour les actifs pressés." in plain(reader.get(url).text)
    assert len(log_entries("restore_revisions")) == 1


def test_a_reason_too_long_to_hide_versions_is_refused_and_kept(members, client_for, topic) -> None:
    middle = posts_of(topic.id)[1]
    client_for(members["other_pair"]).post(
        f"/p/{middle.id}/modifier", data={"body": "Autre texte.", "submit": "1"}
    )
    reason = "R" * 2001
    refused = client_for(members["animation"]).post(
        f"/p/{middle.id}/historique/masquer", data={"reason": reason}
    )
    assert refused.status_code == 400
    assert reason in refused.text
    assert "Très bien pour les actifs pressés." in plain(
        client_for(members["pair"]).get(f"/p/{middle.id}/historique").text
    )


def test_a_pair_cannot_edit_someone_elses_post(members, client_for, topic) -> None:
    middle = posts_of(topic.id)[1]
    response = client_for(members["pair"]).post(
        f"/p/{middle.id}/modifier", data={"body": "Je réécris.", "submit": "1"}
    )
    assert response.status_code == 403
    assert reload(Post, middle.id).body_source == "Très bien pour les actifs pressés."


def test_hiding_a_post_removes_it_from_search_for_members_but_not_for_staff(
    members, client_for, topic
) -> None:
    make_reply(members["pair"], topic, "Mot témoin: ZORGLUBIEN.")
    hidden = make_reply(members["other_pair"], topic, "Encore ZORGLUBIEN ici.")
    hide(client_for(members["animation"]), hidden.id)
    pair_results = text_of(client_for(members["pair"]).get("/recherche?q=zorglubien"))
    assert "1 résultat" in pair_results
    staff_results = text_of(client_for(members["animation"]).get("/recherche?q=zorglubien"))
    assert "2 résultats" in staff_results


def test_the_author_of_a_hidden_post_corrects_it_and_the_moderation_shows_it_again(
    app, members, client_for, topic, monkeypatch
) -> None:
    """A post hidden for naming a beneficiary had no way back: no « Modifier », a 403 on the
    edit page (review of stop 52). Its author corrects it, whatever its age; it stays hidden
    and waits in the queue (« corrigé par son auteur »), once; « conserver » shows it again
    and tells the author."""
    from sqlalchemy import select

    from comcep.extensions import db
    from comcep.moderation.models import Report
    from comcep.notifications.models import Notification

    monkeypatch.setitem(app.config, "EDIT_WINDOW_HOURS", 1)
    staff = client_for(members["animation"])
    post = posts_of(topic.id)[2]
    assert hide(staff, post.id, "Un nom de bénéficiaire : retirez-le.").status_code == 302
    stored = reload(Post, post.id)
    stored.created_at = stored.created_at.replace(year=stored.created_at.year - 1)
    db.session.commit()

    author = client_for(members["pilot_pair"])
    page = text_of(author.get(f"/t/{topic.id}"))
    assert "Corriger pour la modération" in page
    form = author.get(f"/p/{post.id}/modifier")
    assert form.status_code == 200
    assert "Un nom de bénéficiaire : retirez-le." in text_of(form)  # why, where it is fixed
    for body in ("Réponse corrigée, sans nom.", "Réponse corrigée, sans aucun nom."):
        sent = author.post(f"/p/{post.id}/modifier", data={"body": body, "submit": "1"})
        assert sent.status_code == 302
    assert "transmis à l'équipe d'animation" in text_of(
        author.get(location(sent), follow_redirects=True)
    )
    corrected = reload(Post, post.id)
    assert corrected.is_hidden
    assert corrected.body_source == "Réponse corrigée, sans aucun nom."
    [waiting] = db.session.scalars(select(Report).where(Report.post_id == post.id)).all()
    assert (waiting.reason, waiting.status) == ("corrected", "open")
    assert "sans aucun nom" not in text_of(client_for(members["other_pair"]).get(f"/t/{topic.id}"))
    queue = plain(text_of(staff.get("/moderation")))
    assert "Corrigé par son auteur après masquage : à revoir" in queue
    assert "Réponse corrigée, sans aucun nom." in queue

    kept = staff.post(f"/moderation/signalements/{post.id}", data={"decision": "kept"})
    assert kept.status_code == 302
    assert not reload(Post, post.id).is_hidden
    assert "Réponse corrigée, sans aucun nom." in text_of(
        client_for(members["other_pair"]).get(f"/t/{topic.id}")
    )
    told = db.session.scalars(
        select(Notification.kind).where(Notification.member_id == members["pilot_pair"].id)
    ).all()
    assert "post_restored" in told
    assert_counters_right()


def test_other_members_still_cannot_edit_or_read_a_hidden_post(members, client_for, topic):
    post = posts_of(topic.id)[2]
    hide(client_for(members["animation"]), post.id)
    other = client_for(members["other_pair"])
    assert other.get(f"/p/{post.id}/modifier").status_code == 404
    refused = other.post(f"/p/{post.id}/modifier", data={"body": "Piraté.", "submit": "1"})
    assert refused.status_code == 404
    assert reload(Post, post.id).body_source == "Réponse à masquer : propos déplacés."
