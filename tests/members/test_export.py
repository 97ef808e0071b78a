"""The RGPD export (SPEC §4): the member's profile and everything they wrote, in every
state, and nothing written by others that they cannot read now."""

from __future__ import annotations

import json

from sqlalchemy import select

from comcep.extensions import db
from comcep.forum import services as forum
from comcep.forum.models import Post, Topic
from comcep.messages import services as messages
from comcep.moderation import services as moderation
from tests import factories
from tests.forum.test_query_budget import GET_BUDGET, RequestScopedClient


def export(client) -> dict:  # noqa: ANN001
    response = client.get("/compte/export")
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


def test_the_export_holds_topics_hidden_posts_sent_messages_and_reports(
    client_for, members
) -> None:
    pair, other, animation = members["pair"], members["other_pair"], members["animation"]
    mine = factories.make_topic(pair, "premier-entretien", "Mon sujet à moi", "Ouverture.")
    hidden = factories.make_reply(pair, mine, "Un message masqué ensuite.")
    moderation.hide_post(animation, hidden, mine, "Données personnelles")
    theirs = factories.make_topic(other, "premier-entretien", "Leur sujet", "Leur texte.")
    report = moderation.report_post(pair, theirs_post(theirs), theirs, "other", "Mon motif.")
    conversation = messages.start_conversation(pair, [other], "Notre échange", "Mon message.")
    messages.add_message(other, conversation, "Sa réponse privée.")
    db.session.commit()

    data = export(client_for(pair))

    assert [(t["titre"], t["masque"]) for t in data["sujets"]] == [("Mon sujet à moi", False)]
    states = {m["texte"]: m["etat"] for m in data["messages"]}
    assert states == {"Ouverture.": "visible", "Un message masqué ensuite.": "masque"}
    assert [m["texte"] for m in data["messages_prives"]] == ["Mon message."]
    assert data["messages_prives"][0]["conversation"] == "Notre échange"
    assert [(r["message_id"], r["commentaire"]) for r in data["signalements"]] == [
        (report.post_id, "Mon motif.")
    ]
    dump = json.dumps(data, ensure_ascii=False)
    for foreign in ("Sa réponse privée.", "Leur texte.", other.email, animation.email):
        assert foreign not in dump


def theirs_post(topic: Topic) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))


def test_a_pair_turned_hors_pair_gets_no_title_of_a_pairs_topic_they_did_not_open(
    client_for, members
) -> None:
    pair, other = members["pair"], members["other_pair"]
    own = factories.make_topic(pair, "premier-entretien", "Titre que j'ai écrit", "Ouverture.")
    theirs = factories.make_topic(other, "premier-entretien", "Titre secret des pairs", "Texte.")
    factories.make_reply(pair, theirs, "Ma réponse chez les pairs.")
    open_topic = factories.make_topic(other, "echanges", "Titre hors pairs", "Ouvert.")
    factories.make_reply(pair, open_topic, "Ma réponse hors pairs.")
    pair.statut = "hors_pair"
    db.session.commit()

    data = export(client_for(pair))

    titles = {m["texte"]: (m["sujet"], m["sujet_id"]) for m in data["messages"]}
    # Out of their sight now, even their own topic's title: the staff may have renamed it
    # (or made it from their reply); their words, the opening post, are there.
    assert titles["Ouverture."] == (None, own.id)
    assert [(t["id"], t["titre"]) for t in data["sujets"]] == [(own.id, None)]
    assert titles["Ma réponse chez les pairs."] == (None, theirs.id)
    assert titles["Ma réponse hors pairs."] == ("Titre hors pairs", open_topic.id)
    assert "Titre secret des pairs" not in json.dumps(data, ensure_ascii=False)


def test_the_export_holds_the_earlier_versions_of_the_member_s_posts(client_for, members) -> None:
    pair = members["pair"]
    topic = factories.make_topic(pair, "premier-entretien", "Mon sujet", "Première version.")
    post = theirs_post(topic)
    edited = client_for(pair).post(f"/p/{post.id}/modifier", data={"body": "Seconde version."})
    assert edited.status_code == 302

    [exported] = export(client_for(pair))["messages"]

    assert exported["texte"] == "Seconde version."
    assert [v["texte"] for v in exported["versions_precedentes"]] == ["Première version."]
    assert exported["versions_precedentes"][0]["masquee_aux_lecteurs"] is False

    # Hidden from readers by the moderation, a version is still the member's own words.
    moderation.set_revisions_hidden(members["animation"], post, topic, True, "Un nom.")
    db.session.commit()
    [again] = export(client_for(pair))["messages"]
    assert [v["texte"] for v in again["versions_precedentes"]] == ["Première version."]
    assert again["versions_precedentes"][0]["masquee_aux_lecteurs"] is True


def test_a_hors_pair_gets_no_title_the_staff_gave_in_the_pairs_space(client_for, members) -> None:
    """The animatrice splits a hors pair's reply into a new topic of a pairs' rubrique, with
    a title of hers: the topic's author is the hors pair, but its title stays behind the
    wall (the export gave it, under « sujets » and under the reply)."""
    hors_pair, pair = members["hors_pair"], members["pair"]
    question = factories.make_topic(hors_pair, "echanges", "Question aux pairs", "Une question.")
    factories.make_reply(pair, question, "Réponse d'un pair.")
    mine = factories.make_reply(hors_pair, question, "Ma précision.")
    new = moderation.split_topic(
        members["animation"],
        question,
        [mine.id],
        "Cas sensible SECRET",
        factories.category("premier-entretien"),
    )
    db.session.commit()
    assert new.author_id == hors_pair.id

    data = export(client_for(hors_pair))

    assert "SECRET" not in json.dumps(data, ensure_ascii=False)
    assert {t["id"]: t["titre"] for t in data["sujets"]} == {
        question.id: "Question aux pairs",
        new.id: None,
    }
    titles = {m["texte"]: m["sujet"] for m in data["messages"]}
    assert titles == {"Une question.": "Question aux pairs", "Ma précision.": None}


def test_the_export_comes_as_a_page_to_read_too_with_the_same_data_and_nothing_more(
    client_for, members
) -> None:
    """A JSON file is unreadable without tools (review of stop 52): the same data comes as
    a standalone page, its texts escaped, with nothing of what the JSON leaves out."""
    pair, other, animation = members["pair"], members["other_pair"], members["animation"]
    mine = factories.make_topic(pair, "premier-entretien", "Mon sujet à moi", "Ouverture.")
    hidden = factories.make_reply(pair, mine, "Un message <script>alert(1)</script> masqué.")
    moderation.hide_post(animation, hidden, mine, "Données personnelles")
    conversation = messages.start_conversation(pair, [other], "Notre échange", "Mon message.")
    messages.add_message(other, conversation, "Sa réponse privée.")
    db.session.commit()

    client = client_for(pair)
    account = client.get("/compte").get_data(as_text=True)
    assert 'href="/compte/export.html"' in account
    response = client.get("/compte/export.html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert 'filename="comcep-mes-donnees.html"' in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    page = response.get_data(as_text=True)
    for shown in ("Mon sujet à moi", "Ouverture.", "Mon message.", "Notre échange", pair.email):
        assert shown in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # as typed, never run
    assert "<script" not in page
    for foreign in ("Sa réponse privée.", other.email, animation.email):
        assert foreign not in page


def test_the_export_runs_the_same_few_statements_whatever_the_member_wrote(
    app, members, make_member, count_queries
) -> None:
    """The session's member comes without their network, region and groups: the export
    reads them in one statement, not one each; the page to read has no header, hence no
    counters. Its size grows with the member's own data (it is theirs), its statements
    do not."""
    author = make_member(
        name="Auteur Prolifique", network="apec", region="normandie", groups=("Groupe pilote",)
    )
    other = members["other_pair"]
    client = RequestScopedClient(app, app.response_class, use_cookies=True, user=author)

    def measure(url: str) -> int:
        client.get(url)
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    small = {url: measure(url) for url in ("/compte/export", "/compte/export.html")}
    for n in range(4):
        topic = factories.make_topic(author, "premier-entretien", f"Sujet {n}", "Texte.")
        factories.make_reply(author, topic, f"Ma réponse {n}.")
        theirs = factories.make_topic(other, "echanges", f"Leur sujet {n}", "Leur texte.")
        conversation = messages.start_conversation(author, [other], f"Échange {n}", "Bonjour.")
        messages.add_message(author, conversation, "Encore moi.")
        forum.thank(author, theirs_post(theirs))
    db.session.commit()
    big = {url: measure(url) for url in small}

    assert big == small
    assert max(small.values()) <= GET_BUDGET
    assert small["/compte/export.html"] <= small["/compte/export"]  # no header on the page
    profile = export(client)["profil"]
    assert (profile["reseau"], profile["region"], profile["groupes"]) == (
        "apec",
        "normandie",
        ["Groupe pilote"],
    )
    page = client.get("/compte/export.html").get_data(as_text=True)
    assert "Groupe pilote" in page
    assert "<dd>normandie</dd>" in page
