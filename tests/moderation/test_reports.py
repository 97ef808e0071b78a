"""Reports (« signaler »): the member's form, the review queue, the automatic hiding after
three reporters, the animatrice's decisions and the outcome the reporter sees (SPEC §6)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from comcep.extensions import db
from comcep.forum.models import Post, Topic
from comcep.moderation.models import Report
from tests.factories import category, make_reply, make_topic
from tests.moderation.helpers import (
    assert_counters_right,
    attach_file,
    count,
    counters,
    location,
    log_entries,
    plain,
    posts_of,
    reload,
    text_of,
)


@pytest.fixture
def topic(members) -> Topic:
    return make_topic(
        members["pair"],
        title="Orientation vers un bilan de compétences",
        body="Comment présentez-vous le bilan ?",
        replies=[(members["other_pair"], "Je donne le nom du bénéficiaire : Jean TOTOCANARD.")],
    )


@pytest.fixture
def reply(topic) -> Post:
    return posts_of(topic.id)[1]


def report(client, post_id: int, reason: str = "personal_data", comment: str = ""):  # noqa: ANN001, ANN201
    return client.post(f"/p/{post_id}/signaler", data={"reason": reason, "comment": comment})


def queue_item(html: str, topic_title: str) -> str:
    """The visible text of the queue entry whose topic is `topic_title`."""
    for article in re.findall(r'<article class="queue-item">.*?</article>', html, re.S):
        if topic_title in plain(article):
            return plain(article)
    raise AssertionError(f"no queue entry for {topic_title!r}")


# --- reporting --------------------------------------------------------------------------


def test_the_report_form_is_offered_to_a_member_who_sees_the_post(
    members, client_for, reply
) -> None:
    page = client_for(members["pair"]).get(f"/p/{reply.id}/signaler")
    assert page.status_code == 200
    assert "Données personnelles d'un bénéficiaire" in text_of(page)


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_a_pairs_report_reaches_the_review_queue_with_the_post_in_context(
    members, client_for, topic, reply, staff
) -> None:
    response = report(client_for(members["pair"]), reply.id, "personal_data", "Nom complet cité.")
    assert response.status_code == 302
    assert location(response) == f"/p/{reply.id}"  # back to the post reported, on its page
    stored = db.session.scalar(select(Report))
    assert (stored.post_id, stored.reporter_id, stored.reason, stored.comment, stored.status) == (
        reply.id,
        members["pair"].id,
        "personal_data",
        "Nom complet cité.",
        "open",
    )
    queue = client_for(members[staff]).get("/moderation")
    assert queue.status_code == 200
    item = queue_item(queue.text, "Orientation vers un bilan de compétences")
    assert "1 signalement" in item
    assert "Jean TOTOCANARD" in item  # the post itself, in context
    assert "Données personnelles d'un bénéficiaire : « Nom complet cité. » — Paire Un" in item
    assert "Messages signalés (1)" in text_of(queue)


def test_reports_on_one_post_are_grouped_in_one_queue_entry(members, client_for, reply) -> None:
    report(client_for(members["pair"]), reply.id, "off_topic")
    report(client_for(members["pilot_pair"]), reply.id, "spam")
    queue = client_for(members["animation"]).get("/moderation")
    item = queue_item(queue.text, "Orientation vers un bilan de compétences")
    assert "2 signalements" in item
    assert "Hors sujet" in item
    assert "Spam ou publicité" in item
    assert "Messages signalés (1)" in text_of(queue)


def test_reporting_the_same_post_twice_is_refused_with_a_french_message(
    members, client_for, reply
) -> None:
    client = client_for(members["pair"])
    assert report(client, reply.id).status_code == 302
    again = report(client, reply.id, "spam")
    assert again.status_code == 409
    assert "Vous avez déjà signalé ce message" in text_of(again)
    assert count(Report) == 1


def test_reporting_ones_own_post_is_forbidden(members, client_for, reply) -> None:
    client = client_for(members["other_pair"])
    assert client.get(f"/p/{reply.id}/signaler").status_code == 403
    response = report(client, reply.id)
    assert response.status_code == 403
    assert "propre message" in text_of(response)
    assert count(Report) == 0


def test_reason_other_without_a_comment_is_a_bad_request(members, client_for, reply) -> None:
    response = report(client_for(members["pair"]), reply.id, "other", "   ")
    assert response.status_code == 400
    assert "Précisez" in text_of(response)
    assert count(Report) == 0
    ok = report(client_for(members["pair"]), reply.id, "other", "Ton agressif.")
    assert ok.status_code == 302
    assert count(Report) == 1


def test_an_unknown_reason_is_a_bad_request(members, client_for, reply) -> None:
    assert report(client_for(members["pair"]), reply.id, "boring").status_code == 400
    assert count(Report) == 0


def test_a_hors_pair_cannot_report_a_post_of_the_pairs_forum(members, client_for, reply) -> None:
    client = client_for(members["hors_pair"])
    assert client.get(f"/p/{reply.id}/signaler").status_code == 404
    assert report(client, reply.id).status_code == 404
    assert count(Report) == 0


def test_a_hors_pair_may_report_a_post_in_the_hors_pairs_space(members, client_for) -> None:
    topic = make_topic(members["pair"], slug="echanges", title="Les données régionales")
    assert report(client_for(members["hors_pair"]), first_id(topic), "spam").status_code == 302
    assert count(Report) == 1


def first_id(topic: Topic) -> int:
    return posts_of(topic.id)[0].id


def test_anonymous_visitors_are_sent_to_the_login_page_to_report(client, reply) -> None:
    response = report(client, reply.id)
    assert response.status_code == 302
    assert location(response).startswith("/connexion")
    assert count(Report) == 0


# --- three reporters --------------------------------------------------------------------


def test_three_different_reporters_hide_the_post_until_it_is_reviewed(
    members, client_for, topic, reply
) -> None:
    make_reply(members["pair"], topic, "Une troisième réponse, visible.")
    last = posts_of(topic.id)[2]
    make_reply(members["pilot_pair"], topic, "Et la dernière.")
    latest = posts_of(topic.id)[3]
    before = counters("premier-entretien")
    assert before == (1, 4, latest.id)

    for role in ("pair", "pilot_pair"):
        report(client_for(members[role]), reply.id, "personal_data")
    assert not reload(Post, reply.id).is_hidden  # two reporters are not enough
    report(client_for(members["referent_apec"]), reply.id, "inappropriate")

    hidden = reload(Post, reply.id)
    assert hidden.is_hidden
    assert "Jean TOTOCANARD" in hidden.body_source  # still in the database
    assert reload(Topic, topic.id).post_count == 3
    assert counters("premier-entretien") == (1, 3, latest.id)
    assert_counters_right()

    page = text_of(client_for(members["pair"]).get(f"/t/{topic.id}"))
    assert "Jean TOTOCANARD" not in page
    assert "Ce message a été masqué par la modération." in page
    assert client_for(members["pair"]).get(f"/p/{reply.id}/historique").status_code == 404
    assert "Une troisième réponse, visible." in page
    assert f'id="p{last.id}"' in page

    [entry] = log_entries("hide_post")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (None, "post", reply.id)
    journal = text_of(client_for(members["animation"]).get("/moderation/journal"))
    assert "automatique" in journal
    assert "Masqué automatiquement après plusieurs signalements" in journal

    queue = client_for(members["animation"]).get("/moderation")
    item = queue_item(queue.text, "Orientation vers un bilan de compétences")
    assert "3 signalements" in item
    assert "Actuellement masqué" in item


def test_the_same_member_reporting_again_later_does_not_count_as_a_new_reporter(
    members, client_for, reply
) -> None:
    report(client_for(members["pair"]), reply.id)
    report(client_for(members["pair"]), reply.id)
    report(client_for(members["pilot_pair"]), reply.id)
    assert not reload(Post, reply.id).is_hidden


# --- decisions --------------------------------------------------------------------------


def decide(client, post_id: int, decision: str, reason: str = ""):  # noqa: ANN001, ANN201
    return client.post(
        f"/moderation/signalements/{post_id}", data={"decision": decision, "reason": reason}
    )


def auto_hide(members, client_for, post_id: int) -> None:  # noqa: ANN001
    for role in ("pair", "pilot_pair", "referent_apec"):
        assert report(client_for(members[role]), post_id).status_code == 302
    assert reload(Post, post_id).is_hidden


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_keeping_an_auto_hidden_post_restores_it_and_closes_its_reports(
    members, client_for, topic, reply, staff
) -> None:
    auto_hide(members, client_for, reply.id)
    response = decide(client_for(members[staff]), reply.id, "kept", "Le nom est fictif.")
    assert response.status_code == 302
    assert location(response) == "/moderation"
    post = reload(Post, reply.id)
    assert not post.is_hidden
    assert {
        (r.status, r.resolution, r.resolved_by_id) for r in db.session.scalars(select(Report))
    } == {("closed", "kept", members[staff].id)}
    assert counters("premier-entretien") == (1, 2, reply.id)
    assert_counters_right()
    assert "Jean TOTOCANARD" in text_of(client_for(members["pair"]).get(f"/t/{topic.id}"))
    assert "Aucun signalement en attente." in text_of(client_for(members[staff]).get("/moderation"))
    assert [e.action for e in log_entries()] == ["hide_post", "restore_post", "report_kept"]
    assert log_entries("report_kept")[0].actor_id == members[staff].id


def test_keeping_a_post_that_was_never_hidden_only_closes_the_report(
    members, client_for, reply
) -> None:
    report(client_for(members["pair"]), reply.id)
    assert decide(client_for(members["animation"]), reply.id, "kept").status_code == 302
    assert not reload(Post, reply.id).is_hidden
    assert [e.action for e in log_entries()] == ["report_kept"]


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_hiding_a_reported_post_shows_the_reason_to_its_author_only(
    members, client_for, topic, reply, staff
) -> None:
    report(client_for(members["pair"]), reply.id, "personal_data", "Nom du bénéficiaire.")
    response = decide(
        client_for(members[staff]), reply.id, "hidden", "Pas de nom de bénéficiaire, merci."
    )
    assert response.status_code == 302
    post = reload(Post, reply.id)
    assert post.is_hidden
    assert post.hidden_reason == "Pas de nom de bénéficiaire, merci."
    assert post.hidden_by_id == members[staff].id
    assert reload(Report, db.session.scalar(select(Report.id))).resolution == "hidden"
    assert_counters_right()

    author_page = text_of(client_for(members["other_pair"]).get(f"/t/{topic.id}"))
    assert "Message masqué par la modération : Pas de nom de bénéficiaire, merci." in author_page
    assert "Jean TOTOCANARD" in author_page  # the author still reads their own text

    other_page = text_of(client_for(members["pair"]).get(f"/t/{topic.id}"))
    assert "Ce message a été masqué par la modération." in other_page
    assert "Pas de nom de bénéficiaire" not in other_page
    assert "Jean TOTOCANARD" not in other_page

    staff_page = text_of(client_for(members["animation"]).get(f"/t/{topic.id}"))
    assert "Jean TOTOCANARD" in staff_page
    assert "Restaurer" in staff_page

    assert [e.action for e in log_entries()] == ["hide_post", "report_hidden"]
    assert log_entries("hide_post")[0].reason == "Pas de nom de bénéficiaire, merci."


def test_closing_a_report_as_edited_after_the_animatrice_edited_the_post(
    members, client_for, topic, reply
) -> None:
    report(client_for(members["pair"]), reply.id, "personal_data")
    staff = client_for(members["animation"])
    edited = staff.post(
        f"/p/{reply.id}/modifier",
        data={"body": "Je donne le nom du bénéficiaire : [nom retiré].", "submit": "1"},
    )
    assert edited.status_code == 302
    assert decide(staff, reply.id, "edited", "Nom retiré.").status_code == 302
    post = reload(Post, reply.id)
    assert not post.is_hidden
    assert "[nom retiré]" in post.body_source
    assert reload(Report, db.session.scalar(select(Report.id))).resolution == "edited"
    history = text_of(client_for(members["animation"]).get(f"/p/{reply.id}/historique"))
    assert "Jean TOTOCANARD" in history  # the previous version is kept
    assert "Message modifié" in text_of(client_for(members["pair"]).get("/signalements"))


def test_hiding_from_the_queue_needs_a_reason_which_its_author_reads(
    members, client_for, reply
) -> None:
    """SPEC §6: « hide / restore with a reason ». The queue's « Masquer » took an empty
    reason and showed the author « Contenu signalé. » (review of stop 52)."""
    report(client_for(members["pair"]), reply.id)
    for reason in ("", "   "):
        refused = decide(client_for(members["animation"]), reply.id, "hidden", reason)
        assert refused.status_code == 400
        assert "Indiquez la raison du masquage" in plain(text_of(refused))
    assert reload(Post, reply.id).is_hidden is False
    assert reload(Report, db.session.scalar(select(Report.id))).status == "open"
    assert log_entries() == []


def test_an_unknown_decision_changes_nothing(members, client_for, reply) -> None:
    report(client_for(members["pair"]), reply.id)
    response = decide(client_for(members["animation"]), reply.id, "deleted")
    assert response.status_code == 303
    assert reload(Report, db.session.scalar(select(Report.id))).status == "open"
    assert log_entries() == []


def test_the_reporter_sees_the_outcome_of_each_report(members, client_for, topic, reply) -> None:
    opening = posts_of(topic.id)[0]
    client = client_for(members["pilot_pair"])
    report(client, reply.id, "personal_data")
    report(client, opening.id, "off_topic")
    page = text_of(client.get("/signalements"))
    assert page.count("En attente d'examen") == 2

    decide(client_for(members["animation"]), reply.id, "hidden", "Données personnelles.")
    decide(client_for(members["animation"]), opening.id, "kept")
    page = plain(client.get("/signalements").text)
    assert "Message masqué le" in page
    assert "Message conservé le" in page
    assert "En attente d'examen" not in page
    # another member's page does not list these reports
    assert "Vous n'avez signalé aucun message." in text_of(
        client_for(members["pair"]).get("/signalements")
    )


def test_a_reporter_who_lost_access_to_the_topic_no_longer_sees_its_title(
    members, client_for
) -> None:
    topic = make_topic(members["pair"], slug="echanges", title="Titre TOPSECRET à ne plus voir")
    client = client_for(members["hors_pair"])
    assert report(client, first_id(topic), "spam").status_code == 302
    assert "TOPSECRET" in text_of(client.get("/signalements"))
    moved = client_for(members["animation"]).post(
        f"/t/{topic.id}/deplacer", data={"category": str(category("premier-entretien").id)}
    )
    assert moved.status_code == 302
    page = client.get("/signalements")
    assert page.status_code == 200
    assert "TOPSECRET" not in page.text


def test_the_reporter_sees_the_outcome_even_when_the_reported_opening_post_hid_the_topic(
    members, client_for, topic
) -> None:
    opening = posts_of(topic.id)[0]
    client = client_for(members["pilot_pair"])
    report(client, opening.id, "spam")
    decide(client_for(members["animation"]), opening.id, "hidden", "Publicité.")
    assert reload(Topic, topic.id).is_hidden
    page = plain(client.get("/signalements").text)
    assert "Message masqué le" in page


def test_hiding_an_auto_hidden_post_gives_the_author_the_animatrices_reason(
    members, client_for, topic, reply
) -> None:
    auto_hide(members, client_for, reply.id)
    decide(client_for(members["animation"]), reply.id, "hidden", "Nom d'un bénéficiaire.")
    post = reload(Post, reply.id)
    assert post.is_hidden
    assert post.hidden_reason == "Nom d'un bénéficiaire."
    assert post.hidden_by_id == members["animation"].id
    page = text_of(client_for(members["other_pair"]).get(f"/t/{topic.id}"))
    assert "Message masqué par la modération : Nom d'un bénéficiaire." in page
    assert "en attente d'examen" not in page
    assert [(e.action, e.actor_id) for e in log_entries()][-2:] == [
        ("hide_post", members["animation"].id),
        ("report_hidden", members["animation"].id),
    ]


def test_the_queue_lists_the_reported_posts_files_in_one_query(
    members, client_for, topic, reply, count_queries
) -> None:
    staff = client_for(members["animation"])
    client_for(members["pair"]).post(f"/p/{reply.id}/signaler", data={"reason": "personal_data"})
    staff.get("/moderation")
    with count_queries() as before:
        staff.get("/moderation")
    grid = attach_file(reply, "Grille de Jean TOTOCANARD.pdf", 20_000)
    cv = attach_file(reply, "CV.pdf", 1_000)
    other = make_topic(members["other_pair"], title="Un autre cas signalé", replies=[])
    opening = posts_of(other.id)[0]
    attach_file(opening, "Compte rendu.pdf", 3_000)
    client_for(members["pair"]).post(f"/p/{opening.id}/signaler", data={"reason": "spam"})
    with count_queries() as after:
        page = staff.get("/moderation").text
    assert len(after) == len(before), "\n".join(after)  # files of every reported post at once
    item = queue_item(page, "Orientation vers un bilan de compétences")
    assert "Grille de Jean TOTOCANARD.pdf PDF · 20 Ko" in item
    assert "CV.pdf PDF · 1 Ko" in item
    assert "Compte rendu.pdf" not in item
    assert "Compte rendu.pdf PDF · 3 Ko" in queue_item(page, "Un autre cas signalé")
    assert f'href="/pj/{grid.id}/Grille%20de%20Jean%20TOTOCANARD.pdf"' in page
    assert f'href="/pj/{cv.id}/CV.pdf"' in page


MODERATION_BADGE = re.compile(
    r'href="/moderation"[^>]*>Modération <span class="badge badge--count">(\d+)'
)


def test_the_moderation_badge_counts_the_items_the_queue_lists(
    members, client_for, make_member, reply
) -> None:
    """Two reports on one post are one item to decide: the header says 1, as the queue's
    « Messages signalés (1) » (it counted the reports, and said 2 over a list of one)."""
    assert report(client_for(members["pair"]), reply.id).status_code == 302
    assert report(client_for(make_member()), reply.id, "other", "Aussi.").status_code == 302
    staff = client_for(members["animation"])
    queue = staff.get("/moderation").text
    assert "Messages signalés (1)" in queue
    assert MODERATION_BADGE.search(queue).group(1) == "1"
