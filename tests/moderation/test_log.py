"""The moderation log: every action above, by whom, on what and why, filterable, for staff
only; and nothing in moderation ever hard-deletes a post or a topic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from comcep.extensions import db
from comcep.forum.models import Post, PostRevision, Topic
from comcep.moderation import services
from comcep.moderation.models import ACTION_LABELS, ModerationLog, Report
from tests.factories import category, make_reply, make_topic
from tests.moderation.helpers import assert_counters_right, count, plain, posts_of

ACTION_OF_LABEL = {label: action for action, label in ACTION_LABELS.items()}


def journal_rows(html: str) -> list[list[str]]:
    """The journal's table as rows of cell texts: date, by, action, on, reason; the action's
    French label is read back as its code (an untranslated code would fail the lookup)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    rows = [
        [plain(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    for row in rows:
        row[2] = ACTION_OF_LABEL[row[2]]
    return rows


@pytest.fixture
def history(members, client_for) -> dict[str, int]:
    """A morning of moderation, every action through its URL."""
    animation = client_for(members["animation"])
    admin = client_for(members["admin"])
    pairs = make_topic(
        members["pair"],
        title="Financer une formation longue",
        replies=[
            (members["other_pair"], "Le CPF de transition."),
            (members["pilot_pair"], "Hors sujet."),
        ],
    )
    hors = make_topic(members["hors_pair"], slug="echanges", title="Les chiffres de la région")
    duplicate = make_topic(members["other_pair"], title="Financer une formation longue (bis)")
    make_reply(members["pair"], duplicate, "Même question.")
    reply, off_topic = posts_of(pairs.id)[1:]

    for role in ("pair", "pilot_pair", "referent_apec"):  # three reporters: automatic hiding
        client_for(members[role]).post(f"/p/{reply.id}/signaler", data={"reason": "spam"})
    animation.post(
        f"/moderation/signalements/{reply.id}", data={"decision": "kept", "reason": "Faux positif."}
    )
    animation.post(
        f"/p/{off_topic.id}/masquer", data={"reason": "Hors sujet, voir la rubrique Divers."}
    )
    admin.post(f"/p/{off_topic.id}/restaurer", data={"reason": "Finalement utile."})
    animation.post(f"/t/{pairs.id}/moderer", data={"action": "lock", "reason": "Débat clos."})
    animation.post(f"/t/{pairs.id}/moderer", data={"action": "unlock"})
    admin.post(f"/t/{pairs.id}/moderer", data={"action": "pin"})
    admin.post(f"/t/{pairs.id}/moderer", data={"action": "announce"})
    admin.post(f"/t/{pairs.id}/moderer", data={"action": "unpin"})
    animation.post(
        f"/t/{pairs.id}/renommer", data={"title": "Financer une formation de longue durée"}
    )
    animation.post(
        f"/t/{pairs.id}/diviser",
        data={
            "posts": [str(off_topic.id)],
            "title": "Une digression",
            "category": str(category("divers").id),
        },
    )
    animation.post(
        f"/t/{duplicate.id}/fusionner", data={"target": str(pairs.id), "reason": "Doublon."}
    )
    animation.post(
        f"/t/{hors.id}/relayer",
        data={"category": str(category("suivi-du-parcours").id), "summary": "À lire."},
    )
    animation.post(
        f"/t/{hors.id}/deplacer",
        data={"category": str(category("premier-entretien").id), "reason": "Réservé aux pairs."},
    )
    animation.post(
        f"/membres/{members['other_pair'].id}/moderer",
        data={"action": "silence", "days": "2", "reason": "Rafales."},
    )
    animation.post(
        f"/membres/{members['pilot_pair'].id}/moderer",
        data={"action": "suspend", "days": "7", "reason": "Insultes."},
    )
    admin.post(f"/membres/{members['pilot_pair'].id}/moderer", data={"action": "lift"})
    admin.post("/moderation/reglages", data={"premoderation_posts": "2"})
    return {
        "pairs": pairs.id,
        "hors": hors.id,
        "duplicate": duplicate.id,
        "reply": reply.id,
        "off_topic": off_topic.id,
    }


EXPECTED_ACTIONS = [
    "hide_post",
    "restore_post",
    "report_kept",
    "hide_post",
    "restore_post",
    "lock",
    "unlock",
    "pin",
    "announce",
    "unpin",
    "rename",
    "split",
    "merge",
    "relay",
    "move",
    "silence",
    "suspend",
    "unsuspend",
    "unsilence",
    "settings",
]


def test_every_action_is_logged_with_its_actor_target_and_reason(
    members, client_for, history
) -> None:
    entries = list(db.session.scalars(select(ModerationLog).order_by(ModerationLog.id)))
    assert [e.action for e in entries] == EXPECTED_ACTIONS
    animation, admin = members["animation"].id, members["admin"].id
    by_action = {e.action: e for e in entries}
    assert entries[0].actor_id is None  # the automatic hiding
    assert (by_action["report_kept"].actor_id, by_action["report_kept"].reason) == (
        animation,
        "Faux positif.",
    )
    assert entries[3].reason == "Hors sujet, voir la rubrique Divers."
    assert (entries[4].actor_id, entries[4].reason) == (admin, "Finalement utile.")
    assert (by_action["lock"].target_type, by_action["lock"].target_id) == (
        "topic",
        history["pairs"],
    )
    assert by_action["pin"].actor_id == admin
    assert (by_action["merge"].target_id, by_action["merge"].topic_id) == (
        history["duplicate"],
        history["pairs"],
    )
    assert (by_action["move"].target_id, by_action["move"].reason) == (
        history["hors"],
        "Réservé aux pairs.",
    )
    assert (by_action["suspend"].target_type, by_action["suspend"].target_id) == (
        "member",
        members["pilot_pair"].id,
    )
    assert by_action["settings"].actor_id == admin
    assert all(e.created_at is not None for e in entries)


def test_the_journal_page_lists_every_action_most_recent_first(
    members, client_for, history
) -> None:
    page = client_for(members["animation"]).get("/moderation/journal")
    assert page.status_code == 200
    rows = journal_rows(page.text)
    assert [row[2] for row in rows] == list(reversed(EXPECTED_ACTIONS))
    by_action = {row[2]: row for row in reversed(rows)}  # the first occurrence of each
    assert rows[-1][1] == "automatique"
    assert by_action["lock"][1] == "Animatrice"
    assert by_action["lock"][3] == "sujet « Financer une formation de longue durée »"
    assert by_action["lock"][4] == "Débat clos."
    assert by_action["move"][4] == "Réservé aux pairs."
    assert by_action["merge"][4] == "Doublon."
    assert by_action["pin"][1] == "Admin"
    assert by_action["suspend"][3].startswith("membre Paire Pilote")
    assert by_action["suspend"][4] == "Insultes."
    assert by_action["report_kept"][3].startswith(
        "message #2 de Paire Deux dans « Financer une formation de longue durée »"
    )
    # The details in words, not as the JSON they are kept in.
    assert "signalements réf." in by_action["report_kept"][3]
    assert "{" not in page.text.split("<tbody>")[1]
    assert by_action["report_kept"][4] == "Faux positif."


@pytest.mark.parametrize("staff", ["animation", "admin"])
def test_the_journal_is_filtered_by_action_and_by_actor(
    members, client_for, history, staff
) -> None:
    client = client_for(members[staff])
    hides = journal_rows(client.get("/moderation/journal?action=hide_post").text)
    assert [row[2] for row in hides] == ["hide_post", "hide_post"]
    assert [row[1] for row in hides] == ["Animatrice", "automatique"]
    assert [row[4] for row in hides][0] == "Hors sujet, voir la rubrique Divers."
    by_admin = journal_rows(client.get(f"/moderation/journal?acteur={members['admin'].id}").text)
    assert {row[1] for row in by_admin} == {"Admin"}
    assert [row[2] for row in by_admin] == [
        "settings",
        "unsilence",
        "unsuspend",
        "unpin",
        "announce",
        "pin",
        "restore_post",
    ]
    # An action the journal knows, none of it yet: nothing listed.
    none = client.get("/moderation/journal?action=tag_retire")
    assert none.status_code == 200
    assert "Aucune action enregistrée." in plain(none.text)
    # One it does not know (a hand-typed URL) is said under its field, the journal
    # unfiltered by it.
    unknown = client.get("/moderation/journal?action=nothing-like-this")
    assert unknown.status_code == 400
    assert "Action inconnue : choisissez-la dans la liste." in plain(unknown.text)
    assert len(journal_rows(unknown.text)) == len(
        journal_rows(client.get("/moderation/journal").text)
    )
    assert client.get("/moderation/journal?acteur=abc&page=-3").status_code == 400


def test_nothing_is_hard_deleted_by_a_series_of_moderation_actions(members, client_for) -> None:
    first = make_topic(
        members["pair"],
        title="Premier sujet de la série",
        replies=[(members["other_pair"], f"Réponse {n}.") for n in range(2, 6)],
    )
    second = make_topic(members["other_pair"], slug="echanges", title="Second sujet de la série")
    make_reply(members["hors_pair"], second, "Réponse partenaire.")
    third = make_topic(members["pilot_pair"], slug="divers", title="Troisième sujet de la série")
    before_posts, before_topics = count(Post), count(Topic)
    bodies = set(db.session.scalars(select(Post.body_source)))

    staff = client_for(members["animation"])
    posts = posts_of(first.id)
    assert staff.post(f"/p/{posts[1].id}/masquer", data={"reason": "Masqué."}).status_code == 302
    assert (
        staff.post(f"/p/{posts[0].id}/masquer", data={"reason": "Sujet masqué."}).status_code == 302
    )
    assert (
        staff.post(
            f"/t/{first.id}/diviser",
            data={
                "posts": [str(posts[3].id), str(posts[4].id)],
                "title": "Partie détachée",
                "category": str(category("divers").id),
            },
        ).status_code
        == 302
    )
    assert staff.post(f"/t/{third.id}/fusionner", data={"target": str(first.id)}).status_code == 302
    assert (
        staff.post(
            f"/t/{second.id}/deplacer", data={"category": str(category("premier-entretien").id)}
        ).status_code
        == 302
    )
    staff.post(f"/p/{posts[0].id}/restaurer")

    assert count(Post) >= before_posts
    assert count(Topic) >= before_topics
    assert count(Post) == before_posts  # posts move, none is created or removed
    assert count(Topic) == before_topics + 1  # the split's new topic; the merged one stays
    assert set(db.session.scalars(select(Post.body_source))) == bodies
    assert db.session.scalar(select(func.count()).select_from(PostRevision)) == 0
    assert count(Report) == 0
    assert_counters_right()


def test_the_journal_speaks_french_in_its_rows_and_its_filter(members, client_for, history) -> None:
    page = client_for(members["animation"]).get("/moderation/journal").text
    assert "<td>Sujet verrouillé</td>" in page
    assert '<option value="hide_post">Message masqué</option>' in page
    for code in ("hide_post", "report_kept", "lock", "suspend"):
        assert f"<td>{code}</td>" not in page
    filtered = client_for(members["animation"]).get("/moderation/journal?action=lock").text
    assert [row[2] for row in journal_rows(filtered)] == ["lock"]


def test_every_logged_action_has_a_french_label() -> None:
    package = Path(__file__).resolve().parents[2] / "comcep"
    sources = "".join(p.read_text() for p in package.rglob("*.py"))
    logged = set(re.findall(r'\blog\(\s*\w+,\s*"(\w+)"', sources))
    logged |= {f"report_{r}" for r in ("kept", "hidden", "edited")}
    logged |= {f"tag_{a}" for a in ("create", "rename", "merge", "retire", "restore")}
    assert logged - ACTION_LABELS.keys() == set()


def test_the_journal_is_filtered_by_the_actors_name(members, client_for, history) -> None:
    client = client_for(members["animation"])
    page = client.get("/moderation/journal").text
    assert f'<option value="{members["admin"].id}">Admin</option>' in page
    assert f'<option value="{members["pair"].id}">' not in page  # never acted
    chosen = client.get(f"/moderation/journal?acteur={members['admin'].id}").text
    assert f'<option selected value="{members["admin"].id}">Admin</option>' in chosen
    for everyone in ("", "0"):  # « Tous »
        response = client.get(f"/moderation/journal?acteur={everyone}")
        assert response.status_code == 200
        assert len(journal_rows(response.text)) == len(journal_rows(page))
    # Someone out of the list (never acted, not a number): said under the field, in 400,
    # the journal unfiltered by it.
    for odd in ("abc", "-1", str(members["pair"].id)):
        response = client.get(f"/moderation/journal?acteur={odd}")
        assert response.status_code == 400
        assert "Membre inconnu : choisissez-le dans la liste." in response.text
        assert len(journal_rows(response.text)) == len(journal_rows(page))


def test_the_journal_names_its_targets_and_links_them(members, client_for, history) -> None:
    admin = members["admin"]
    rubrique = category("divers")
    services.log(admin, "category_update", "category", rubrique.id)
    services.log(admin, "approve_registration", "member", members["pending"].id)
    services.log(admin, "lock", "topic", 999_999)  # gone: its reference stays
    db.session.commit()
    page = client_for(admin).get("/moderation/journal").text
    rows = journal_rows(page)
    assert [row[3] for row in rows[:3]] == [
        "sujet réf. 999999",
        "membre En Attente",  # a registration request: not listed, but named to the staff
        "rubrique « Divers »",
    ]
    by_action = {row[2]: row for row in reversed(rows)}
    assert by_action["merge"][3].startswith("sujet « Financer une formation longue (bis) »")
    assert by_action["restore_post"][3].startswith(
        "message #1 de Paire Pilote dans « Une digression »"  # where the split took it
    )
    assert f'href="/p/{history["reply"]}"' in page
    assert f'href="/t/{history["pairs"]}"' in page
    assert f'href="/membres/{members["pilot_pair"].id}/moderer"' in page
    assert f'href="/admin/rubriques#c{rubrique.id}"' in page


def test_the_journal_reads_its_targets_in_one_query_per_kind(
    members, client_for, history, count_queries
) -> None:
    client = client_for(members["animation"])
    client.get("/moderation/journal")
    with count_queries() as before:
        client.get("/moderation/journal")
    topic = make_topic(
        members["other_pair"],
        title="Encore un sujet",
        replies=[(members["pair"], f"Réponse {n}.") for n in range(5)],
    )
    for post in posts_of(topic.id)[1:]:
        services.log(members["animation"], "hide_post", "post", post.id, topic_id=topic.id)
    for role in ("pair", "other_pair", "hors_pair"):
        services.log(members["animation"], "silence", "member", members[role].id)
    services.log(members["animation"], "lock", "topic", topic.id, topic_id=topic.id)
    db.session.commit()
    with count_queries() as after:
        page = client.get("/moderation/journal").text
    assert "message #6 de Paire Un dans « Encore un sujet »" in plain(page)
    assert len(after) == len(before), "\n".join(after)
