"""Search through the app: French matching, the wall inside the query, the outbox that
keeps the index in step with the database, and the CLI that checks it."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
from sqlalchemy import delete, func, select, update

from comcep import outbox
from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import Post, Topic
from comcep.outbox import OutboxEvent
from comcep.search import indexing
from comcep.search.backend import SearchQuery
from comcep.search.postgres_backend import PostgresBackend
from tests.factories import category, make_reply, make_topic


@pytest.fixture(autouse=True, params=["whoosh", "postgres"])
def search_backend(request, app):
    """Every test here runs on each backend the database allows (PostgreSQL search needs
    PostgreSQL: on SQLite that half is skipped, and runs in the PostgreSQL pass)."""
    if request.param == "postgres" and db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL search backend runs in the PostgreSQL pass")
    default = app.config["SEARCH_BACKEND"]
    app.config["SEARCH_BACKEND"] = request.param
    app.extensions.pop("comcep_search", None)
    indexing.get_backend().clear()
    db.session.commit()
    yield request.param
    app.config["SEARCH_BACKEND"] = default
    app.extensions.pop("comcep_search", None)


def _count(text: str) -> str:
    match = re.search(r'class="search-count"[^>]*>([^<]*)', text)
    return match.group(1).strip() if match else ""


@pytest.fixture
def forum(members):
    pairs_topic = make_topic(
        members["pair"],
        slug="premier-entretien",
        title="Combien de temps pour un premier entretien ?",
        body="Mes entretiens d'évolution professionnelle durent une heure. CANARIPAIRS",
        replies=[(members["other_pair"], "Pour une RECONVERSION, je prévois deux entretiens.")],
    )
    hors_topic = make_topic(
        members["hors_pair"],
        slug="echanges",
        title="Les données régionales sur la reconversion",
        body="Le Carif-Oref publie un entretien annuel sur l'évolution des métiers.",
        replies=[(members["pair"], "Merci, très utile pour nos entretiens.")],
    )
    return {"pairs": pairs_topic, "hors": hors_topic}


def test_new_posts_are_searchable_right_after_the_request(members, client_for):
    client = client_for(members["pair"])
    response = client.post(
        "/r/premier-entretien/nouveau-sujet",
        data={"title": "Bilan de compétences et VAE", "body": "Une question…", "submit": "1"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(OutboxEvent.id))) == 0
    page = client.get("/recherche", query_string={"q": "compétence"})
    assert "1 résultat" in _count(page.text)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("entretien", "entretiens"),
        ("evolution", "évolution"),
        ("reconversion", "RECONVERSION"),
        ('"premier entretien"', "premier"),
    ],
    ids=["plural", "accents", "case", "phrase"],
)
def test_pair_finds_other_inflections(forum, members, client_for, query, expected):
    page = client_for(members["other_pair"]).get("/recherche", query_string={"q": query})
    assert page.status_code == 200
    assert "<mark>" in page.text
    assert "Aucun résultat" not in page.text


def test_hors_pair_finds_only_the_hors_pairs_topic(forum, members, client_for):
    client = client_for(members["hors_pair"])
    for query in ["entretien", "evolution", "reconversion", "premier entretien", "heure"]:
        page = client.get("/recherche", query_string={"q": query})
        assert "CANARIPAIRS" not in page.text
        assert "Combien de temps" not in page.text
        assert "deux entretiens" not in page.text
    page = client.get("/recherche", query_string={"q": "entretien"})
    assert _count(page.text).startswith("2 résultats")
    canary = client.get("/recherche", query_string={"q": "CANARIPAIRS"})
    assert "Aucun résultat" in canary.text
    assert "<mark>" not in canary.text


def _move(topic_id: int, slug: str) -> None:
    """Move a topic as moderation does: reindexed, counters refreshed, outbox processed."""
    db.session.get(Topic, topic_id).category_id = category(slug).id
    indexing.enqueue_topics([topic_id])
    services.refresh_category_counters()
    db.session.commit()
    outbox.process()


def test_topic_moved_across_the_wall_changes_results_at_once(forum, members, client_for):
    hors = client_for(members["hors_pair"])
    assert "Aucun résultat" not in hors.get("/recherche", query_string={"q": "Carif"}).text
    _move(forum["hors"].id, "premier-entretien")
    assert "Aucun résultat" in hors.get("/recherche", query_string={"q": "Carif"}).text
    pair_page = client_for(members["pair"]).get("/recherche", query_string={"q": "Carif"})
    assert "Aucun résultat" not in pair_page.text


def test_topic_moved_into_the_hors_pairs_space_is_found_there_at_once(forum, members, client_for):
    """The other way: on PostgreSQL, the posts' vectors now carry the new rubrique."""
    hors = client_for(members["hors_pair"])
    assert "Aucun résultat" in hors.get("/recherche", query_string={"q": "CANARIPAIRS"}).text
    _move(forum["pairs"].id, "echanges")
    page = hors.get("/recherche", query_string={"q": "CANARIPAIRS"})
    assert _count(page.text).startswith("1 résultat")
    assert "deux entretiens" in hors.get("/recherche", query_string={"q": "reconversion"}).text


def test_a_move_left_out_of_the_index_shows_in_the_check(forum, members):
    """A rubrique changed behind the index's back (no reindex) makes its posts stale."""
    assert indexing.check().ok
    db.session.execute(
        update(Topic)
        .where(Topic.id == forum["hors"].id)
        .values(category_id=category("premier-entretien").id)
    )
    db.session.commit()
    report = indexing.check()
    assert sorted(report.stale) == sorted(
        db.session.scalars(select(Post.id).where(Post.topic_id == forum["hors"].id))
    )


def test_the_migration_marks_the_rubriques_of_vectors_written_before_it(forum, members):
    """PostgreSQL: vectors indexed before revision 5a506c3cc5a8 get their rubrique lexeme and
    fingerprint from it (and lose them going down)."""
    if not isinstance(indexing.get_backend(), PostgresBackend):
        pytest.skip("PostgreSQL vectors only")
    from flask_migrate import downgrade, upgrade

    post_id = db.session.scalar(select(Post.id).where(Post.topic_id == forum["hors"].id))
    lexeme = f"'#r{category('echanges').id}'"

    def vector() -> str:
        return db.session.scalar(select(Post.search_vector).where(Post.id == post_id))

    assert lexeme in vector()
    db.session.commit()
    downgrade(revision="7c2d9e4a1b35")
    assert "#r" not in vector()
    db.session.commit()
    upgrade()
    assert lexeme in vector()
    assert indexing.check().ok


def test_the_migration_marks_the_blocks_of_vectors_written_before_it(forum, members):
    """PostgreSQL: vectors indexed before revision 3b7e5d1f9a42 get their rubrique and block
    lexeme from it, fingerprints unchanged (and lose it going down)."""
    if not isinstance(indexing.get_backend(), PostgresBackend):
        pytest.skip("PostgreSQL vectors only")
    from flask_migrate import downgrade, upgrade

    from comcep.search.postgres_backend import BLOCK_IDS

    post_ids = list(db.session.scalars(select(Post.id).order_by(Post.id)))
    rubriques = dict(
        db.session.execute(
            select(Post.id, Topic.category_id).join(Topic, Topic.id == Post.topic_id)
        ).all()
    )

    def vectors() -> dict[int, str]:
        return dict(db.session.execute(select(Post.id, Post.search_vector)).all())

    def block(post_id: int) -> str:
        return f"'#r{rubriques[post_id]}b{post_id // BLOCK_IDS}'"

    written = vectors()
    assert all(block(post_id) in written[post_id] for post_id in post_ids)
    db.session.commit()
    downgrade(revision="8a4f1c7e2d90")
    down = vectors()
    assert not any(re.search(r"'#r\d+b\d+'", vector) for vector in down.values())
    assert all(f"'#r{rubriques[post_id]}'" in down[post_id] for post_id in post_ids)
    db.session.commit()
    upgrade()
    assert vectors() == written
    assert indexing.check().ok


def test_the_migration_marks_the_id_blocks_of_vectors_written_before_it(forum, members):
    """PostgreSQL: vectors indexed before revision 9d3f6b2a7c41 get their block lexeme
    (`#b<id // ALL_BLOCK_IDS>`) from it, fingerprints unchanged, and lose it going down
    (the rubriques' lexemes stay)."""
    if not isinstance(indexing.get_backend(), PostgresBackend):
        pytest.skip("PostgreSQL vectors only")
    from flask_migrate import downgrade, upgrade

    from comcep.search.postgres_backend import ALL_BLOCK_IDS

    post_ids = list(db.session.scalars(select(Post.id).order_by(Post.id)))

    def vectors() -> dict[int, str]:
        return dict(db.session.execute(select(Post.id, Post.search_vector)).all())

    written = vectors()
    assert post_ids
    assert all(f"'#b{post_id // ALL_BLOCK_IDS}'" in written[post_id] for post_id in post_ids)
    db.session.commit()
    downgrade(revision="3b7e5d1f9a42")
    down = vectors()
    assert not any(re.search(r"'#b\d+'", vector) for vector in down.values())
    assert all(re.search(r"'#r\d+b\d+'", down[post_id]) for post_id in post_ids)
    db.session.commit()
    upgrade()
    assert vectors() == written
    assert indexing.check().ok


@pytest.mark.parametrize(
    "text", ["#r{id}", "r{id}", "'#r{id}'", "#r", "r", "#r{id}b0", "r{id}b0", "#b0", "b0", "'#b0'"]
)
def test_no_reader_s_word_matches_a_rubrique_s_mark(forum, members, client_for, text):
    """The vectors' rubrique and block lexemes (PostgreSQL) are out of reach of what a
    reader types."""
    query = text.format(id=category("echanges").id)
    page = client_for(members["pair"]).get("/recherche", query_string={"q": query})
    assert page.status_code in (200, 400)
    assert "Carif-Oref" not in page.text
    assert "Les données régionales" not in page.text


def test_filters_by_rubrique_and_titles_only(forum, members, client_for):
    client = client_for(members["pair"])
    page = client.get("/recherche", query_string={"q": "entretien", "rubrique": "echanges"})
    assert "Combien de temps" not in page.text
    assert "Les données régionales" in page.text
    page = client.get("/recherche", query_string={"q": "reconversion", "titres": "y"})
    assert _count(page.text).startswith("1 résultat")


@pytest.mark.parametrize("reader", ["pair", "hors_pair"])
def test_a_search_that_finds_nothing_asks_no_more_than_one_that_finds(
    forum, members, client_for, count_queries, reader
):
    """The first page's total rides along with its hits: when there are none, the total is
    0 without being counted again (only a page past the end asks for it alone)."""
    client = client_for(members[reader])

    def statements(**args: str) -> int:
        client.get("/recherche", query_string=args)  # warm up
        with count_queries() as ran:
            page = client.get("/recherche", query_string=args)
        assert page.status_code == 200
        return len(ran)

    # Nothing found: no hit's topic to load, and no count to ask for.
    assert statements(q="introuvablissime") < statements(q="entretien")


def test_unknown_rubrique_filter_and_bad_dates_never_fail(forum, members, client_for):
    client = client_for(members["pair"])
    assert client.get("/recherche?q=entretien&du=31-02-2020").status_code == 400
    assert client.get("/recherche?q=entretien&page=-4").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("rubrique=nope", "Rubrique inconnue"),
        ("auteur=Personne%20Inconnue", "Aucun membre ne s&#39;appelle « Personne Inconnue »"),
        ("auteur=999999", "Ce membre est introuvable"),
        ("auteur=99999999999999999999", "Ce membre est introuvable"),
        ("auteur=" + "x" * 81, "Ce nom est trop long"),
        ("du=2026-05-02&au=2026-05-01", "La date de fin doit suivre la date de début"),
        ("tag=inconnu", "Mot-clé inconnu"),
    ],
)
def test_bad_filters_are_said_in_french_and_keep_the_query(
    forum, members, client_for, args: str, message: str
):
    response = client_for(members["pair"]).get(f"/recherche?q=entretien&{args}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'value="entretien"' in page


def test_a_rubrique_behind_the_wall_is_as_unknown_as_a_missing_one(forum, members, client_for):
    client = client_for(members["hors_pair"])
    hidden = client.get("/recherche?q=entretien&rubrique=premier-entretien")
    missing = client.get("/recherche?q=entretien&rubrique=nope")
    assert hidden.status_code == missing.status_code == 400
    assert "Rubrique inconnue" in hidden.get_data(as_text=True)


def test_a_filter_on_a_rubrique_out_of_sight_finds_nothing_in_any_backend(forum):
    """Below the page (which refuses such a filter): the backend itself keeps to the visible
    rubriques when asked to filter on another one, and finds the filtered one when visible."""
    visible = frozenset({category("echanges").id})
    backend = indexing.get_backend()
    hidden_filter = SearchQuery(
        text="entretien", category_ids=visible, category_id=category("premier-entretien").id
    )
    assert backend.search(hidden_filter).total == 0
    visible_filter = SearchQuery(
        text="entretien", category_ids=visible, category_id=category("echanges").id
    )
    assert backend.search(visible_filter).total == 2


def test_a_page_past_the_end_says_so_and_links_back(forum, members, client_for):
    page = client_for(members["pair"]).get("/recherche?q=entretien&page=50").get_data(as_text=True)
    assert "Cette page de résultats n'existe pas" in page
    assert "Revenir à la première page" in page


@pytest.mark.parametrize(
    "query",
    [
        '"non fermé',
        "title:foo",
        "post_id:1",
        "*",
        "AND OR NOT",
        "-",
        "-entretien",
        "((",
        "le la",
        "a" * 3000,
        "'; DROP TABLE posts; --",
        "\x00\x07",
        "é" * 499,
        "[1 TO 9]",
        "entretien^9",
    ],
    ids=[
        "quote",
        "field",
        "field-id",
        "star",
        "operators",
        "lone-minus",
        "only-negation",
        "parens",
        "stop-words",
        "huge",
        "sql",
        "control",
        "long-accents",
        "range",
        "boost",
    ],
)
def test_malformed_queries_never_fail(forum, members, client_for, query):
    client = client_for(members["pair"])
    page = client.get("/recherche", query_string={"q": query})
    assert page.status_code in (200, 400)
    assert "Traceback" not in page.text
    assert client.get("/recherche", query_string={"q": "entretien"}).status_code == 200


def test_hidden_posts_are_found_by_staff_only(forum, members, client_for):
    post = make_reply(members["pair"], forum["pairs"], "Un message sur le handicap.")
    db.session.execute(update(type(post)).where(type(post).id == post.id).values(is_hidden=True))
    indexing.enqueue_posts([post.id])
    db.session.commit()
    outbox.process()
    assert "Aucun résultat" in client_for(members["other_pair"]).get("/recherche?q=handicap").text
    staff_page = client_for(members["animation"]).get("/recherche?q=handicap")
    assert "Aucun résultat" not in staff_page.text


def test_failure_after_commit_leaves_the_work_in_the_outbox(
    forum, members, monkeypatch, runner, search_backend
):
    if search_backend == "postgres":
        pytest.skip("PostgreSQL writes the vector in the post's own transaction: no outbox")

    def broken(_ids):
        raise RuntimeError("index verrouillé")

    monkeypatch.setitem(outbox.HANDLERS, indexing.POST_KIND, broken)
    post = make_reply(members["pair"], forum["pairs"], "Parler de la mobilité géographique.")
    outbox.process()
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.ref_id == post.id))
    assert event is not None
    assert event.attempts == 1
    assert "verrouillé" in event.last_error
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code != 0
    monkeypatch.undo()
    db.session.execute(update(OutboxEvent).values(available_at=event.created_at))
    db.session.commit()
    assert runner.invoke(args=["search", "sync"]).exit_code == 0
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    search_rows = select(func.count(OutboxEvent.id)).where(OutboxEvent.kind.like("search.%"))
    assert db.session.scalar(search_rows) == 0


@pytest.mark.parametrize("parallel_from", [indexing.PARALLEL_REBUILD_FROM, 1])
def test_check_reports_drift_and_rebuild_repairs_it(forum, runner, monkeypatch, parallel_from):
    """Also with the rebuild in two processes, as for a large forum."""
    monkeypatch.setattr(indexing, "PARALLEL_REBUILD_FROM", parallel_from)
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    indexing.get_backend().clear()
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert "diverge" in result.output
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0
    assert "4 messages indexés" in result.output
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_edited_title_is_reindexed_for_the_whole_topic(forum, members, client_for):
    client = client_for(members["pair"])
    first_post_id = db.session.get(Topic, forum["pairs"].id).last_post_id - 1
    response = client.post(
        f"/p/{first_post_id}/modifier",
        data={"title": "Durée du premier rendez-vous", "body": "Texte revu.", "submit": "1"},
    )
    assert response.status_code == 302
    page = client.get("/recherche", query_string={"q": "rendez-vous"})
    assert "Durée du premier" in page.text


def test_a_very_common_word_is_capped_and_ranked_among_the_most_recent(
    members, client_for, search_backend, monkeypatch
):
    """PostgreSQL reads at most TOTAL_CAP + 1 matches, the most recent: the count says
    « plus de », and relevance ranks that window (Whoosh counts and ranks them all)."""
    from comcep.search import postgres_backend

    monkeypatch.setattr(postgres_backend, "TOTAL_CAP", 3)
    oldest = make_topic(members["pair"], title="Atelier atelier atelier", body="Atelier atelier.")
    for n in range(4):
        make_topic(members["pair"], title=f"Sujet numéro {n + 1}", body=f"Un atelier, {n}.")
    first_post = db.session.scalar(select(func.min(Post.id)).where(Post.topic_id == oldest.id))
    page = client_for(members["pair"]).get("/recherche", query_string={"q": "atelier"}).text
    link = f'href="/p/{first_post}"'
    if search_backend == "postgres":
        assert _count(page).startswith("Plus de 3 résultats")
        assert "parmi les 1 000 messages les plus récents" in page
        assert link not in page  # the most relevant, but not in the window
    else:
        assert _count(page).startswith("5 résultats")
        assert page.index(link) < page.index("Sujet num")
    assert first_post


def _hits(page: str) -> list[tuple[int, str, str]]:
    """(post id, title, snippet) of each hit, in the page's order."""
    return [
        (int(post_id), title, snippet)
        for post_id, title, snippet in re.findall(
            r'<li class="search-hit">.*?href="/p/(\d+)">(.*?)</a>.*?'
            r'class="search-hit__snippet">(.*?)</p>',
            page,
            re.S,
        )
    ]


def test_hits_come_in_the_order_asked_each_with_its_own_title_and_text(members, client_for):
    """By relevance, the post saying the word most (in its title too) first, although the
    oldest; by date, the newest first. Each hit shows its own topic's title and its own
    post's text, highlighted (PostgreSQL reads them for the page's rows only, after ranking
    the window)."""
    strong = make_topic(
        members["pair"], title="Atelier de l'atelier", body="CODE0 : atelier, atelier, atelier."
    )
    topics = [strong] + [
        make_topic(
            members["pair"],
            title=f"Sujet numéro {n}",
            body=f"CODE{n} : un atelier parmi d'autres choses à dire.",
            replies=[(members["other_pair"], f"Une réponse sans le mot, REPONSE{n}.")],
        )
        for n in range(1, 6)
    ]
    first = {
        topic.id: db.session.scalar(
            select(Post.id).where(Post.topic_id == topic.id, Post.number == 1)
        )
        for topic in topics
    }
    client = client_for(members["pair"])
    by_relevance = _hits(client.get("/recherche", query_string={"q": "atelier"}).text)
    by_date = _hits(client.get("/recherche", query_string={"q": "atelier", "tri": "date"}).text)
    assert by_relevance[0][0] == first[strong.id]
    assert [hit[0] for hit in by_date] == sorted(first.values(), reverse=True)
    page = client.get("/recherche", query_string={"q": "atelier", "tri": "date"}).text
    # Who wrote each hit, and when: several hits of one topic would otherwise look alike.
    first_hit = page[page.index('class="search-hit"') :]
    first_hit = first_hit[: first_hit.index("</li>")]
    assert "Premier message de" in first_hit
    assert f'href="/membres/{members["pair"].id}"' in first_hit
    assert re.search(r", le \d{1,2} \w+\.? \d{4}", first_hit)
    for hits in (by_relevance, by_date):
        assert sorted(hit[0] for hit in hits) == sorted(first.values())
        for post_id, title, snippet in hits:
            n = next(i for i, topic in enumerate(topics) if first[topic.id] == post_id)
            assert f"CODE{n}" in snippet
            assert "REPONSE" not in snippet
            assert "<mark>" in snippet.lower()
            expected = "de l" if n == 0 else f"Sujet numéro {n}"
            assert expected in title


@pytest.mark.parametrize("block", [12_500, 2_500, 1, 2, 3, 5, 100])
@pytest.mark.parametrize("reader", ["hors_pair", "pair"])
def test_relevance_searches_the_most_recent_posts_first(
    members, search_backend, monkeypatch, block, reader
):
    """PostgreSQL looks among the last ids of its first span first (by the lexemes of their
    blocks of ids: a hors pair's few rubriques' `#r<id>b<block>`, RECENT_SPANS and
    BLOCK_IDS; a pair's many rubriques' `#b<block>`, RECENT_SPANS_ALL and ALL_BLOCK_IDS),
    then the next spans, and among older posts only when those hold too few matches: the
    window is the same, the TOTAL_CAP + 1 most recent matches, wherever the spans end and
    however they cut the blocks (every first span from none to past the first post, so the
    edges fall at every place of a block; one span, or three)."""
    if search_backend != "postgres":
        pytest.skip("PostgreSQL's window of recent matches")
    from comcep import policy
    from comcep.search import postgres_backend

    rubriques = policy.visible_category_ids(policy.Viewer.for_member(members[reader]))
    few = reader == "hors_pair"
    assert postgres_backend._few(rubriques) == few  # each reader takes its own path
    spans_name, block_name = (
        ("RECENT_SPANS", "BLOCK_IDS") if few else ("RECENT_SPANS_ALL", "ALL_BLOCK_IDS")
    )
    monkeypatch.setattr(postgres_backend, block_name, block)  # as the vectors are written
    ids = []
    for n in range(6):
        topic = make_topic(members["hors_pair"], slug="echanges", title=f"Atelier {n}")
        ids.append(db.session.scalar(select(Post.id).where(Post.topic_id == topic.id)))
        make_reply(members["pair"], topic, "Sans le mot cherché.")
    query = SearchQuery(text="atelier", category_ids=rubriques, per_page=50)
    last_id = db.session.scalar(select(func.max(Post.id)))
    for span in range(last_id - ids[0] + 3):
        for spans, cap in itertools.product([(span,), (span, span + 3, span + 5)], (2, 3, 10)):
            monkeypatch.setattr(postgres_backend, spans_name, spans)
            monkeypatch.setattr(postgres_backend, "TOTAL_CAP", cap)
            results = indexing.get_backend().search(query)
            window = ids[-(cap + 1) :]
            found = sorted(hit.post_id for hit in results.hits)
            assert found == sorted(window), (spans, cap)
            assert results.total == min(len(window), cap)
            assert results.capped == (len(window) > cap)


@pytest.mark.parametrize("reader", ["hors_pair", "pair"])
def test_spans_after_the_one_that_fills_the_window_never_run(
    members, search_backend, monkeypatch, reader
):
    """PostgreSQL: once the spans searched hold TOTAL_CAP + 1 matches, the later spans and
    the older posts are never read (their one-time condition is the running total, each
    span counted once); the plan PostgreSQL ran says so."""
    if search_backend != "postgres":
        pytest.skip("PostgreSQL's window of recent matches")
    import json

    from comcep import policy
    from comcep.search import postgres_backend

    rubriques = policy.visible_category_ids(policy.Viewer.for_member(members[reader]))
    few = reader == "hors_pair"
    spans_name, block_name = (
        ("RECENT_SPANS", "BLOCK_IDS") if few else ("RECENT_SPANS_ALL", "ALL_BLOCK_IDS")
    )
    monkeypatch.setattr(postgres_backend, block_name, 3)
    for n in range(8):  # a match, then a post without the word: 2 matches every 4 ids
        topic = make_topic(members["hors_pair"], slug="echanges", title=f"Atelier {n}")
        make_reply(members["pair"], topic, "Sans le mot cherché.")
    monkeypatch.setattr(postgres_backend, spans_name, (4, 8, 12))  # 16 posts: older ones too
    monkeypatch.setattr(postgres_backend, "TOTAL_CAP", 2)  # 3 matches wanted: 2 spans
    backend = indexing.get_backend()
    query = SearchQuery(text="atelier", category_ids=rubriques)
    last_id = db.session.scalar(select(func.max(Post.id)))
    window, params = backend._window_for(query, last_id)
    compiled = window.compile(dialect=db.engine.dialect)
    plan = (
        db.session.connection()
        .exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), compiled.construct_params(params)
        )
        .scalar()
    )
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node: dict):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    scans = [node for node in nodes(plan[0]["Plan"]) if node.get("Relation Name") == "posts"]
    ran = [node["Actual Loops"] > 0 for node in scans]
    assert ran == [True, True, False, False]  # 3 spans, then the older posts
    # Each block of ids is asked for by one span: none fetches another's matches to drop them.
    asked = [
        {block for _, block in re.findall(r"#(r\d+)?b(\d+)", value)}
        for value in params.values()
        if isinstance(value, str) and "b" in value and "#" in value
    ]
    assert len(asked) == 3
    assert sum(map(len, asked)) == len(set().union(*asked))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 2_500, 12_500])
def test_each_block_of_ids_is_asked_for_by_one_span(size):
    """`_spans`: newest first, each span starts where a block starts, at least its length
    back from the last id; together they hold each block once, from the last id's down to
    id 0 or to where the older posts begin; a span with no block of its own is left out."""
    from comcep.search.postgres_backend import RECENT_SPANS, RECENT_SPANS_ALL, _spans

    for spans in (RECENT_SPANS, RECENT_SPANS_ALL, (0,), (3, 4, 5, 9, 30), (1, 1, 2)):
        for last_id in (0, 1, 2, 5, 12, 33, 4_999, 100_038, 1_000_038, 1_012_499):
            result = _spans(last_id, spans, size)
            reaches = {max(last_id - span, 0) // size * size for span in spans}
            assert result[0][1].stop == last_id // size + 1
            for (_, blocks), (_, older) in itertools.pairwise(result):
                assert older.stop == blocks.start  # the next block down, none twice
            for edge, blocks in result:
                assert edge == blocks.start * size
                assert edge in reaches
                assert len(blocks) > 0
            assert result[0][0] <= max(last_id - spans[0], 0)  # at least the first span
            assert (result[-1][0] == 0) == (0 in reaches), (spans, last_id, result)


FILTERS = {
    "none": {},
    "author": {"author_id": "pair"},
    "from": {"date_from": date(2024, 3, 3)},
    "to": {"date_to": date(2024, 3, 4)},
    "from-to": {"date_from": date(2024, 3, 2), "date_to": date(2024, 3, 4)},
    "tag": {"tag": "cpf"},
    "theme": {"theme_id": "echanges"},
}


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("reader", ["pair", "hors_pair"])
def test_filters_keep_the_same_posts_whichever_way_the_window_is_read(
    members, search_backend, monkeypatch, reader, name
):
    """Author, dates, tag and theme keep exactly the posts they name, for a pair (many
    rubriques: span by span when no filter keeps older matches, one query otherwise) and a
    hors pair (a few: span by span), with spans and blocks small enough that the posts
    fall in several of them and in the older rest."""
    from comcep import policy
    from comcep.search import postgres_backend

    for name_, value in (("RECENT_SPANS", (2, 5)), ("RECENT_SPANS_ALL", (2, 5))):
        monkeypatch.setattr(postgres_backend, name_, value)
    for name_ in ("BLOCK_IDS", "ALL_BLOCK_IDS"):
        monkeypatch.setattr(postgres_backend, name_, 2)  # as the vectors are written
    plan = [  # rubrique, author, day of March 2024, tagged
        ("echanges", "hors_pair", 1, False),
        ("premier-entretien", "pair", 2, True),
        ("echanges", "pair", 3, True),
        ("premier-entretien", "other_pair", 4, False),
        ("echanges", "hors_pair", 5, True),
        ("premier-entretien", "pair", 6, False),
    ]
    made = []
    for n, (slug, author, day, tagged) in enumerate(plan):
        topic = make_topic(members[author], slug=slug, title=f"Atelier {n}")
        make_reply(members["other_pair" if author == "pair" else "pair"], topic, "Sans le mot.")
        post = db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))
        post.created_at = datetime(2024, 3, day, 11, 0, tzinfo=UTC)
        if tagged:
            services.set_tags(topic, ["cpf"])
        made.append((post.id, slug, members[author].id, date(2024, 3, day), tagged))
    indexing.enqueue_posts([post_id for post_id, *_ in made])
    db.session.commit()
    outbox.process()

    rubriques = policy.visible_category_ids(policy.Viewer.for_member(members[reader]))
    filters = {
        key: (
            members[value].id
            if key == "author_id"
            else category(value).parent_id
            if key == "theme_id"
            else value
        )
        for key, value in FILTERS[name].items()
    }
    expected = [
        post_id
        for post_id, slug, author_id, day, tagged in made
        if category(slug).id in rubriques
        and filters.get("author_id", author_id) == author_id
        and filters.get("date_from", day) <= day <= filters.get("date_to", day)
        and (tagged or "tag" not in filters)
        and filters.get("theme_id", category(slug).parent_id) == category(slug).parent_id
    ]
    query = SearchQuery(text="atelier", category_ids=rubriques, per_page=50, **filters)
    results = indexing.get_backend().search(query)
    assert sorted(hit.post_id for hit in results.hits) == sorted(expected)
    assert results.total == len(expected)
    assert category("echanges").parent_id != category("premier-entretien").parent_id
    if search_backend == "postgres":
        backend = indexing.get_backend()
        last_id = db.session.scalar(select(func.max(Post.id)))
        window = str(backend._window_for(query, last_id)[0])
        older_kept = {"author", "to", "from-to", "tag"}
        assert ("search_recent_0" in window) == (reader == "hors_pair" or name not in older_kept)


def test_a_pair_s_window_before_an_end_date_is_the_newest_by_date(
    members, search_backend, monkeypatch
):
    """PostgreSQL: before an end date, a pair's window is the TOTAL_CAP + 1 newest matches
    by date (the planner walks the dates' index back from that date), even where ids do not
    follow the dates, as for imported posts."""
    if search_backend != "postgres":
        pytest.skip("PostgreSQL's window of recent matches")
    from comcep import policy
    from comcep.search import postgres_backend

    monkeypatch.setattr(postgres_backend, "TOTAL_CAP", 2)  # a window of 3
    days = {}
    for n, day in enumerate([4, 3, 1, 2, 6]):  # in the order of the ids
        topic = make_topic(members["pair"], title=f"Atelier {n}")
        post = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
        post.created_at = datetime(2024, 3, day, 11, 0, tzinfo=UTC)
        days[post.id] = day
    indexing.enqueue_posts(list(days))
    db.session.commit()
    outbox.process()
    rubriques = policy.visible_category_ids(policy.Viewer.for_member(members["pair"]))
    query = SearchQuery(text="atelier", category_ids=rubriques, date_to=date(2024, 3, 5))
    results = indexing.get_backend().search(query)
    assert sorted(days[hit.post_id] for hit in results.hits) == [2, 3, 4]  # by id: 1, 2, 3
    assert results.total == 2
    assert results.capped


def test_a_rebuild_holding_the_index_delays_indexing_without_using_attempts(
    members, search_backend, app
):
    """While `comcep search rebuild` holds Whoosh's writer, new posts wait in the outbox
    (no attempt counted, so nothing is parked however long the rebuild), then go in."""
    if search_backend != "whoosh":
        pytest.skip("PostgreSQL writes the vector in the post's own transaction: no lock")
    backend = indexing.get_backend()
    backend.lock_timeout = 0.05
    held = backend._index().writer()  # what a rebuild keeps for its whole run
    try:
        topic = make_topic(members["pair"], title="Écrit pendant la reconstruction")
        for _ in range(3):
            db.session.execute(update(OutboxEvent).values(available_at=func.now()))
            db.session.commit()
            outbox.process()
        rows = db.session.scalars(select(OutboxEvent)).all()
        assert [(row.kind, row.attempts, row.parked) for row in rows] == [
            (indexing.POST_KIND, 0, False)
        ]
    finally:
        held.cancel()
        backend.lock_timeout = 10.0
    db.session.execute(update(OutboxEvent).values(available_at=func.now()))
    db.session.commit()
    assert indexing.sync() == 1
    assert not indexing.check().missing
    assert topic.id


def test_a_profile_searches_its_member_s_posts_and_the_filter_can_be_dropped(
    members, client_for
) -> None:
    """The author filter is reached from a profile (it was only reachable by typing its
    number in the address), and the results page offers to drop it."""
    mine = make_topic(members["pair"], title="Atelier de Paire Un", body="Un atelier à moi.")
    theirs = make_topic(members["other_pair"], title="Atelier de Paire Deux", body="Le sien.")
    client = client_for(members["other_pair"])
    profile = client.get(f"/membres/{members['pair'].id}").text
    assert 'action="/recherche"' in profile
    assert f'name="auteur" value="{members["pair"].id}"' in profile
    page = client.get("/recherche", query_string={"q": "atelier", "auteur": members["pair"].id})
    assert page.status_code == 200
    assert f'href="/p/{mine.last_post_id}"' in page.text
    assert f'href="/p/{theirs.last_post_id}"' not in page.text
    widen = re.search(r'href="([^"]*)">chercher chez tous les membres', page.text)
    assert widen is not None
    everyone = client.get(widen.group(1).replace("&amp;", "&")).text
    assert f'href="/p/{theirs.last_post_id}"' in everyone


def _quote_reply(client, topic_id: int, quoted_id: int, own_words: str):  # noqa: ANN001, ANN202
    """Reply as « Citer » does: the form comes filled with the quote, the member adds theirs."""
    form = client.get(f"/t/{topic_id}/repondre", query_string={"citer": quoted_id})
    quote = re.search(r"<textarea[^>]*>\s*(.*?)</textarea>", form.text, re.S).group(1)
    body = unescape(quote) + own_words
    return client.post(f"/t/{topic_id}/repondre", data={"body": body, "submit": "1"})


def _snippets(client, query: str) -> list[str]:  # noqa: ANN001
    page = client.get("/recherche", query_string={"q": query})
    return re.findall(r'<p class="search-hit__snippet">(.*?)</p>', page.text, re.S)


def test_a_quoted_post_is_found_once_not_again_in_the_replies_quoting_it(
    forum, members, client_for
):
    """« Citer » copies a post into the reply: a search for its words finds the post, not
    each reply that quotes it (twice here, one quoting the other), and a quoting reply's
    snippet shows its own words. A quotation typed with `>` is the post's own: found."""
    client = client_for(members["other_pair"])
    first = db.session.scalar(
        select(Post.id).where(Post.topic_id == forum["pairs"].id, Post.number == 1)
    )
    assert (
        _quote_reply(client, forum["pairs"].id, first, "Je note ta DURÉE MOYENNE.").status_code
        == 302
    )
    quoting = db.session.scalar(select(func.max(Post.id)))
    answer = "Idem pour moi.\n\n> Article L6111-6 : le conseil en évolution professionnelle"
    response = _quote_reply(client_for(members["pair"]), forum["pairs"].id, quoting, answer)
    assert response.status_code == 302
    assert "> > Mes entretiens" in db.session.get(Post, quoting + 1).body_source  # nested
    reader = client_for(members["animation"])
    assert len(_snippets(reader, "CANARIPAIRS")) == 1
    assert len(_snippets(reader, "durée moyenne")) == 1  # the second reply quotes it: not again
    (snippet,) = _snippets(reader, "durée moyenne")
    assert "CANARIPAIRS" not in snippet
    assert len(_snippets(reader, "L6111-6")) == 1
    assert indexing.check().ok


def test_the_migration_indexes_again_the_posts_that_quote_one(forum, members, client_for):
    """Revision a7d2c9e4f186 queues the posts that quote another for the index (their
    quotes leave it), and only those; once applied, the index matches the database."""
    from flask_migrate import downgrade, upgrade

    client = client_for(members["other_pair"])
    first = db.session.scalar(
        select(Post.id).where(Post.topic_id == forum["pairs"].id, Post.number == 1)
    )
    assert _quote_reply(client, forum["pairs"].id, first, "Mon avis.").status_code == 302
    quoting = db.session.scalar(select(func.max(Post.id)))
    make_reply(members["pair"], forum["pairs"], "> Une citation tapée à la main.")
    db.session.commit()
    downgrade(revision="e4b7c2a9f513")
    db.session.execute(delete(OutboxEvent))
    db.session.commit()
    upgrade()
    queued = db.session.execute(select(OutboxEvent.kind, OutboxEvent.ref_id)).all()
    assert [tuple(row) for row in queued] == [(indexing.POST_KIND, quoting)]
    outbox.process()
    assert db.session.scalar(select(func.count(OutboxEvent.id))) == 0
    assert len(_snippets(client, "CANARIPAIRS")) == 1
    assert indexing.check().ok


def test_the_author_filter_takes_a_name_among_the_members_the_reader_may_see(
    forum, members, client_for, make_member
) -> None:
    """« Auteur » takes a name, case and accents aside, completed from the members the
    reader may see. A pair out of a hors pair's sight answers as a name nobody has, and
    homonyms are told apart from their profiles."""
    pair = members["pair"]
    client = client_for(members["other_pair"])
    form = client.get("/recherche").text
    assert 'name="auteur"' in form
    assert 'data-suggest-url="/membres/suggestions"' in form
    folded = pair.display_name.upper()
    page = client.get("/recherche", query_string={"q": "entretiens", "auteur": folded})
    assert page.status_code == 200
    assert f'Messages de <a href="/membres/{pair.id}">{pair.display_name}</a>' in page.text
    assert len(_snippets(client, "entretiens")) > len(
        re.findall(r'class="search-hit__snippet"', page.text)
    )
    hors_pair = client_for(members["hors_pair"])
    behind = make_member(statut="pair", network="apec", name="Pair Discret")
    make_topic(behind, "premier-entretien", title="Entre pairs", body="Un entretien.")
    hidden = hors_pair.get("/recherche", query_string={"q": "entretien", "auteur": "Pair Discret"})
    nobody = hors_pair.get("/recherche", query_string={"q": "entretien", "auteur": "Pair Absent"})
    assert hidden.status_code == nobody.status_code == 400
    assert "Aucun membre ne s&#39;appelle" in hidden.text
    make_member(statut="pair", network="apec", name=pair.display_name)
    twins = client.get("/recherche", query_string={"q": "entretiens", "auteur": folded})
    assert twins.status_code == 400
    assert "Plusieurs membres s&#39;appellent" in twins.text
    by_number = client.get("/recherche", query_string={"q": "entretiens", "auteur": pair.id})
    assert by_number.status_code == 200
