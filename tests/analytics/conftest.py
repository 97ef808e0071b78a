"""A small forum with known numbers, placed in time, for the comité's analyses.

The period under study is the first quarter of 2025 in Europe/Paris time:
[2024-12-31 23:00 UTC, 2025-03-31 22:00 UTC) — winter time at the start, summer time at the
end (France changed to summer time on 30 March 2025).

Members (all admitted on 1 December 2024): france-travail ft1…ft6, apec ap1…ap5,
missions-locales ml1…ml3 (a network of 3: « < 5 »), carif-oref hp1…hp5 (hors pairs).

Topics (rubrique, asker, opened at UTC, replies as (author, hours after the opening)):

    T1  premier-entretien        ft1  2025-01-10 09:00  ap1+2 ml1+5 ft2+30 ap2+50, ft3+6 hidden
    T2  premier-entretien        ap1  2025-02-03 10:00  ap1+1 (own) ap2+10 ft1+12
    T3  accueil-du-beneficiaire  ml1  2025-03-15 08:00  ft3+60 ft4+61
    T4  monter-un-dossier        ft2  2025-03-20 12:00  ap3+1 hidden → no reply
    T5  liens-utiles             ft5  2025-01-20 14:00  ft6+48 (exactly) ml2+49
    T6  je-partage-mes-outils    ap3  2025-02-14 09:00  ap4+3 ap5+4 ml3+6 ft5+8
    T7  echanges (hors pairs)    hp1  2025-02-01 10:00  hp2+1 hp3+2 ft1+3 hp4+4 hp5+5
    T8  divers                   ml2  2025-03-31 21:59  (23:59 Paris, in)  ml3+1 (April)
    T9  divers                   ft3  2025-03-31 22:00  (00:00 Paris on 1 April, out)
    T10 divers                   ap5  2024-12-31 23:00  (00:00 Paris on 1 January, in)  ft4+2
    T11 divers                   ft6  2024-12-31 22:59  (23:59 Paris on 31 December, out)
    T12 premier-entretien        ft4  2025-02-10 10:00  ap1+1 ap2+2 — the topic is hidden

In the period: 9 topics (T1–T8, T10) and 30 messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from comcep.analytics.report import Period
from comcep.extensions import db
from comcep.forum import services
from comcep.forum.models import Post, Tag, Topic
from comcep.members.models import Member
from comcep.moderation import services as moderation
from tests.factories import category

Q1_2025 = Period(date(2025, 1, 1), date(2025, 3, 31))
ADMITTED = datetime(2024, 12, 1, 9, 0, tzinfo=UTC)

MEMBERS = (
    [(f"ft{i}", "pair", "france-travail") for i in range(1, 7)]
    + [(f"ap{i}", "pair", "apec") for i in range(1, 6)]
    + [(f"ml{i}", "pair", "missions-locales") for i in range(1, 4)]
    + [(f"hp{i}", "hors_pair", "carif-oref") for i in range(1, 6)]
)


MakeMember = Callable[..., Member]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# key: (rubrique, asker, opened, [(replier, hours, hidden)], topic hidden)
TOPICS: dict[str, tuple[str, str, datetime, list[tuple[str, float, bool]], bool]] = {
    "T1": (
        "premier-entretien",
        "ft1",
        utc(2025, 1, 10, 9),
        [
            ("ap1", 2, False),
            ("ml1", 5, False),
            ("ft3", 6, True),
            ("ft2", 30, False),
            ("ap2", 50, False),
        ],
        False,
    ),  # fmt: skip
    "T2": (
        "premier-entretien",
        "ap1",
        utc(2025, 2, 3, 10),
        [("ap1", 1, False), ("ap2", 10, False), ("ft1", 12, False)],
        False,
    ),
    "T3": (
        "accueil-du-beneficiaire",
        "ml1",
        utc(2025, 3, 15, 8),
        [("ft3", 60, False), ("ft4", 61, False)],
        False,
    ),
    "T4": ("monter-un-dossier", "ft2", utc(2025, 3, 20, 12), [("ap3", 1, True)], False),
    "T5": (
        "liens-utiles",
        "ft5",
        utc(2025, 1, 20, 14),
        [("ft6", 48, False), ("ml2", 49, False)],
        False,
    ),
    "T6": (
        "je-partage-mes-outils",
        "ap3",
        utc(2025, 2, 14, 9),
        [("ap4", 3, False), ("ap5", 4, False), ("ml3", 6, False), ("ft5", 8, False)],
        False,
    ),
    "T7": (
        "echanges",
        "hp1",
        utc(2025, 2, 1, 10),
        [
            ("hp2", 1, False),
            ("hp3", 2, False),
            ("ft1", 3, False),
            ("hp4", 4, False),
            ("hp5", 5, False),
        ],
        False,
    ),  # fmt: skip
    "T8": ("divers", "ml2", utc(2025, 3, 31, 21, 59), [("ml3", 1, False)], False),
    "T9": ("divers", "ft3", utc(2025, 3, 31, 22, 0), [], False),
    "T10": ("divers", "ap5", utc(2024, 12, 31, 23, 0), [("ft4", 2, False)], False),
    "T11": ("divers", "ft6", utc(2024, 12, 31, 22, 59), [], False),
    "T12": (
        "premier-entretien",
        "ft4",
        utc(2025, 2, 10, 10),
        [("ap1", 1, False), ("ap2", 2, False)],
        True,
    ),
}


def member_name(key: str) -> str:
    return f"Zélie {key.upper()} Quintalvert"


def member_email(key: str) -> str:
    return f"{key}.quintalvert@secret-cep.example"


def topic_title(key: str) -> str:
    return f"Sujet confidentiel {key} zanzibarique"


def post_body(topic: str, number: int) -> str:
    return f"Texte confidentiel {topic}-{number} quetzalcoatlesque : un cas réel."


@dataclass
class Forum:
    members: dict[str, Member]
    topics: dict[str, Topic]
    posts: dict[str, list[Post]] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Everything that must never appear in an output of the analyses."""
        texts = ["Quintalvert", "secret-cep.example", "zanzibarique", "quetzalcoatlesque"]
        for key, member in self.members.items():
            texts += [member.display_name, member.email, member_name(key), member_email(key)]
        for key in self.topics:
            texts.append(topic_title(key))
        for posts in self.posts.values():
            texts += [post.body_source for post in posts]
        return texts


def build_forum(make_member: Callable[..., Member]) -> Forum:
    members = {
        key: make_member(statut=statut, network=network, name=member_name(key),
                         email=member_email(key))
        for key, statut, network in MEMBERS
    }  # fmt: skip
    for member in members.values():
        member.created_at = ADMITTED
    db.session.commit()
    forum = Forum(members=members, topics={})
    for key, (slug, asker, opened, replies, hidden) in TOPICS.items():
        topic = services.create_topic(
            members[asker], category(slug), topic_title(key), post_body(key, 1), at=opened
        )
        forum.topics[key] = topic
        posts = [db.session.scalar(select(Post).where(Post.topic_id == topic.id))]
        for number, (replier, hours, post_hidden) in enumerate(replies, start=2):
            post = services.reply(
                members[replier], topic, post_body(key, number), at=opened + timedelta(hours=hours)
            )
            posts.append(post)
            if post_hidden:
                moderation.hide_post(None, post, topic, "Hors charte.")
        if hidden:
            moderation.hide_post(None, posts[0], topic, "Sujet hors charte.")
        forum.posts[key] = posts
    db.session.commit()
    return forum


@pytest.fixture
def forum(make_member: Callable[..., Member]) -> Forum:
    return build_forum(make_member)


@pytest.fixture
def comite(make_member: Callable[..., Member]) -> Member:
    """The comité's reader; admitted today, so outside the 2025 figures."""
    return make_member(
        statut="hors_pair", network="dgefp", roles=("comite",), name="Lectrice du Comité"
    )


@pytest.fixture
def comite_client(
    comite: Member, client_for: Callable[[Member | None], FlaskClient]
) -> FlaskClient:
    return client_for(comite)


def q1_args(**extra: str) -> dict[str, str]:
    return {"du": "2025-01-01", "au": "2025-03-31", **extra}


# --- Solutions and mots-clés (issue 11) ---------------------------------------------------


def solve(forum: Forum, topic: str, index: int) -> None:
    """Mark the reply at `index` of the forum's posts of `topic` as its solution."""
    post = forum.posts[topic][index]
    services.mark_solution(forum.members["ft1"], forum.topics[topic], post)


def force_solution(forum: Forum, topic: str, index: int) -> None:
    """Point the topic at a post the service would refuse (hidden, wrong rubrique…)."""
    forum.topics[topic].solution_post_id = forum.posts[topic][index].id


def solved_forum(forum: Forum) -> None:
    """Five solved topics by five solvers among six topics opened in accepting rubriques.

    In: T1 (ft2, 30 h), T2 (ft1, 12 h), T3 (ft4, 61 h), T4 (its only reply is hidden: not
    solved), T7 (hp3, 2 h), T13 (ap4, opened 31 March 22:00 Paris, solved by ap5 5 h later,
    in April: counts). Out: T5 (rubrique without solutions), T12 (hidden topic), T14 (opened
    before the period).
    """
    solve(forum, "T1", 4)  # ft2 +30 h (index 3 is ft3's hidden reply)
    solve(forum, "T2", 3)  # ft1 +12 h
    solve(forum, "T3", 2)  # ft4 +61 h
    force_solution(forum, "T4", 1)  # ap3's hidden reply
    solve(forum, "T7", 2)  # hp3 +2 h
    force_solution(forum, "T5", 1)  # ft6 +48 h, but « Les liens utiles » takes no solutions
    force_solution(forum, "T12", 1)  # the topic is hidden
    members = forum.members
    for key, opened, asker, solver, hours in [
        ("T13", utc(2025, 3, 31, 20), "ap4", "ap5", 5),
        ("T14", utc(2024, 12, 31, 22, 59), "ap2", "ap3", 1),
    ]:
        topic = services.create_topic(
            members[asker], category("premier-entretien"), f"Sujet {key}", "Texte", at=opened
        )
        reply = services.reply(
            members[solver], topic, "Réponse", at=opened + timedelta(hours=hours)
        )
        services.mark_solution(members[asker], topic, reply)
    db.session.commit()


def tag_forum(forum: Forum) -> None:
    """cpf: T1 T2 T6 T7 · vae: T8 T10 (3 writers) · jeunes: T1 T4 · handicap: T9 T11 T12 (out
    of the period or hidden) · ancien (retired after use): T5 T6 · perime (retired): T11."""
    for slug, name in [("ancien", "Ancien"), ("perime", "Périmé")]:
        db.session.add(Tag(slug=slug, name=name, retired=False))
    db.session.flush()
    carried = {
        "T1": ["cpf", "jeunes"],
        "T2": ["cpf"],
        "T4": ["jeunes"],
        "T5": ["ancien"],
        "T6": ["cpf", "ancien"],
        "T7": ["cpf"],
        "T8": ["vae"],
        "T9": ["handicap"],
        "T10": ["vae"],
        "T11": ["handicap", "perime"],
        "T12": ["handicap"],
    }
    for key, slugs in carried.items():
        services.set_tags(forum.topics[key], slugs)
    for tag in db.session.query(Tag).filter(Tag.slug.in_(["ancien", "perime"])):
        tag.retired = True
    db.session.commit()


def hidden_topic_ids() -> list[int]:
    return list(db.session.scalars(select(Topic.id).where(Topic.is_hidden.is_(True))))


def open_topics(askers: list[Member], slug: str, at: datetime = utc(2025, 2, 20, 9)) -> list[Topic]:
    """One unanswered topic by each of `askers` in rubrique `slug`, an hour apart: a topic
    count is shown only when 5 members or more opened the topics (SPEC §8, « < 5 »)."""
    topics = [
        services.create_topic(
            asker, category(slug), f"Sujet ouvert {n}", "Texte", at=at + timedelta(hours=n)
        )
        for n, asker in enumerate(askers)
    ]
    db.session.commit()
    return topics


def five_of_each(forum: Forum, make_member: Callable[..., Member]) -> None:
    """After `solved_forum` and `tag_forum`, enough members behind the solutions' share and
    « cpf » for them to be shown: four unsolved topics by new askers beside T4 (ft2's), in
    « Le premier entretien », the first of them carrying « cpf », its fifth opener."""
    topics = open_topics(new_askers(make_member, 4), "premier-entretien")
    services.set_tags(topics[0], ["cpf"])
    db.session.commit()


def new_askers(make_member: Callable[..., Member], count: int) -> list[Member]:
    """`count` pairs of the apec network, admitted with the forum's members."""
    askers = [make_member(statut="pair", network="apec") for _ in range(count)]
    for asker in askers:
        asker.created_at = ADMITTED
    db.session.commit()
    return askers
