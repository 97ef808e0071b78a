"""Moderation faults found by a review (stop 49), each proved by a test that failed before
its fix: the bell after a split or a merge, a hidden « réponse retenue », a topic whose
opening post changes with a split or a merge, a merge of mots-clés the journal could not
tell, and the comité's report from the command line at the calendar's edges."""

from __future__ import annotations

import json
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from comcep.extensions import db, utcnow
from comcep.forum import services
from comcep.forum.models import Post, Tag, Topic
from comcep.moderation import services as mod
from comcep.moderation.models import ModerationLog
from tests.factories import category, make_reply, make_topic
from tests.notifications.support import bell

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "request_scoped_clients")


def _post(topic_id: int, number: int) -> Post:
    db.session.expire_all()
    return db.session.scalar(select(Post).where(Post.topic_id == topic_id, Post.number == number))


def test_reading_a_reply_moved_by_a_split_clears_the_bell(members, client_for) -> None:
    asker, other, animation = members["pair"], members["other_pair"], members["animation"]
    topic = make_topic(asker, title="Une question de départ")
    make_reply(other, topic, "Une réponse qui partira dans un autre sujet.")
    reader = client_for(asker)
    assert bell(reader) == 1  # « a répondu à votre sujet »
    reply_id = _post(topic.id, 2).id
    response = client_for(animation).post(
        f"/t/{topic.id}/diviser",
        data={
            "posts": [str(reply_id)],
            "title": "La suite ailleurs",
            "category": str(topic.category_id),
        },
    )
    assert response.status_code == 302
    new_topic = db.session.scalar(select(Post.topic_id).where(Post.id == reply_id))
    assert reader.get(f"/t/{new_topic}").status_code == 200  # read where it went
    assert bell(reader) == 0


def test_an_unread_reply_merged_into_another_topic_stays_in_the_bell(members, client_for) -> None:
    asker, other, animation = members["pair"], members["other_pair"], members["animation"]
    source = make_topic(asker, title="Un doublon à fusionner")
    target = make_topic(other, title="Le sujet qui reste")
    make_reply(other, source, "Une réponse que la demandeuse n'a pas encore lue.")
    reader = client_for(asker)
    assert bell(reader) == 1
    response = client_for(animation).post(
        f"/t/{source.id}/fusionner", data={"target": str(target.id)}
    )
    assert response.status_code == 302
    assert bell(reader) == 1  # nothing was read: the reply is in the target now, unread
    assert reader.get(f"/t/{target.id}").status_code == 200
    assert bell(reader) == 0


def test_a_hidden_solution_no_longer_marks_the_topic_resolu(members, client_for) -> None:
    topic = make_topic(members["pair"], slug="premier-entretien", title="Un cas de VAE")
    answer = make_reply(members["other_pair"], topic, "La réponse utile, puis masquée.")
    assert client_for(members["pair"]).post(f"/p/{answer.id}/solution").status_code == 302
    response = client_for(members["animation"]).post(
        f"/p/{answer.id}/masquer", data={"reason": "Données personnelles."}
    )
    assert response.status_code in (302, 303)
    reader = client_for(members["pilot_pair"])
    topic_page = reader.get(f"/t/{topic.id}").text
    assert "Réponse retenue" not in topic_page
    assert "Résolu" not in topic_page
    assert "Résolu" not in reader.get("/r/premier-entretien").text
    assert "Un cas de VAE" in reader.get("/actifs?filtre=non-resolus").text


def test_a_split_whose_first_post_is_hidden_gives_a_hidden_topic(members, client_for) -> None:
    pair, other, animation = members["pair"], members["other_pair"], members["animation"]
    topic = make_topic(pair, title="Une question sur le CPF")
    hidden = make_reply(other, topic, "Un message masqué : il cite un bénéficiaire par son nom.")
    make_reply(other, topic, "Une réponse visible.")
    mod.hide_post(animation, hidden, db.session.get(Topic, topic.id), "Données personnelles.")
    db.session.commit()
    new = mod.split_topic(
        animation,
        db.session.get(Topic, topic.id),
        [hidden.id],
        "Message à l'écart",
        category("premier-entretien"),
    )
    db.session.commit()
    db.session.expire_all()
    assert _post(new.id, 1).is_hidden
    assert db.session.get(Topic, new.id).is_hidden
    listing = unescape(client_for(members["pilot_pair"]).get("/r/premier-entretien").text)
    assert "Message à l'écart" not in listing


def test_restoring_the_opening_post_of_a_hidden_topic_after_a_merge_shows_it_again(
    members, client_for
) -> None:
    pair, other, animation = members["pair"], members["other_pair"], members["animation"]
    older = services.create_topic(
        other,
        category("premier-entretien"),
        "Le sujet le plus ancien",
        "Premier.",
        at=utcnow() - timedelta(days=2),
    )
    db.session.commit()
    target = make_topic(pair, title="Un sujet masqué puis rétabli")
    opening = _post(target.id, 1)
    mod.hide_post(animation, opening, db.session.get(Topic, target.id), "À vérifier.")
    db.session.commit()
    mod.merge_topics(animation, db.session.get(Topic, older.id), db.session.get(Topic, target.id))
    db.session.commit()
    mod.restore_post(animation, db.session.get(Post, opening.id), db.session.get(Topic, target.id))
    db.session.commit()
    db.session.expire_all()
    assert client_for(members["pilot_pair"]).get(f"/t/{target.id}").status_code == 200


def test_a_tag_merge_is_told_by_the_journal(members, client_for) -> None:
    topic = make_topic(members["pair"], title="Un cas de VAE en entreprise")
    services.set_tags(topic, ["vae"])
    db.session.commit()
    vae = db.session.scalar(select(Tag).where(Tag.slug == "vae"))
    formation = db.session.scalar(select(Tag).where(Tag.slug == "formation"))
    response = client_for(members["animation"]).post(
        "/mots-cles/gestion", data={"action": "merge", "tag": vae.id, "target": formation.id}
    )
    assert response.status_code in (302, 303)
    db.session.expire_all()
    entry = db.session.scalar(select(ModerationLog).where(ModerationLog.action == "tag_merge"))
    details = entry.details if isinstance(entry.details, dict) else json.loads(entry.details)
    assert details == {"nom": "VAE", "fusionne_dans": "formation", "sujets": [topic.id]}


@pytest.mark.parametrize(
    "dates", [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")], ids=["0001", "9999"]
)
def test_a_report_date_at_the_calendar_s_edge_is_a_usage_error_in_french(
    runner, dates: tuple[str, str]
) -> None:
    result = runner.invoke(args=["analytics", "report", "--from", dates[0], "--to", dates[1]])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Choisissez des dates entre le 01/01/2000 et le 31/12/2100." in result.output
