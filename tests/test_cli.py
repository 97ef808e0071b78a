"""The `comcep` command line (SPEC §10): `user create`, `seed-demo` and `posts render`."""

from __future__ import annotations

import pytest
from sqlalchemy import and_, func, select, update

from comcep import outbox
from comcep.cli import main
from comcep.extensions import db
from comcep.forum.demo_content import DEMO_MEMBERS, DEMO_TOPICS
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member, Network
from comcep.messages import services as messages
from comcep.messages.models import PrivateMessage
from comcep.search import indexing
from tests.factories import make_topic

PASSWORD = "un-mot-de-passe-solide"


def user_create(runner, *options: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    """`comcep user create … --password-stdin`, the password typed on standard input."""
    return runner.invoke(
        args=["user", "create", *options, "--password-stdin"], input=f"{password}\n"
    )


def member_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Member.id)))


def test_user_create_makes_an_active_pair(runner) -> None:
    result = user_create(
        runner,
        "--email", "Claire.Martin@FranceTravail.example",
        "--name", "Claire Martin",
        "--statut", "pair",
        "--network", "france-travail",
        "--region", "bretagne",
        "--organisation", "Agence de Rennes",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    member = db.session.scalar(select(Member))
    assert f"Membre créé : #{member.id} claire.martin@francetravail.example (pair)" in result.output
    assert (member.email, member.display_name) == (
        "claire.martin@francetravail.example",
        "Claire Martin",
    )
    assert (member.statut, member.state, member.roles) == ("pair", "active", "")
    assert member.network.code == "france-travail"
    assert member.region.code == "bretagne"
    assert member.organisation == "Agence de Rennes"
    assert member.check_password(PASSWORD)
    assert PASSWORD not in result.output


def test_user_create_makes_a_hors_pair_with_a_role(runner) -> None:
    result = user_create(
        runner,
        "--email", "helene@carif-oref.example",
        "--name", "Hélène Garnier",
        "--statut", "hors_pair",
        "--network", "carif-oref",
        "--region", "la-reunion",
        "--role", "comite",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    member = db.session.scalar(select(Member))
    assert member.statut == "hors_pair"
    assert member.network.code == "carif-oref"
    assert member.region.code == "la-reunion"
    assert member.role_set == {"comite"}


def test_user_create_gives_staff_roles_and_groups(runner) -> None:
    result = user_create(
        runner,
        "--email", "isabelle@comcep.example",
        "--name", "Isabelle Durand",
        "--statut", "pair",
        "--network", "apec",
        "--region", "ile-de-france",
        "--role", "animation",
        "--role", "validation",
        "--group", "Groupe pilote",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    member = db.session.scalar(select(Member))
    assert member.role_set == {"animation", "validation"}
    assert member.validation_network_id == member.network_id
    assert [group.name for group in member.groups] == ["Groupe pilote"]


def test_user_create_makes_a_network_representative_the_referent_of_a_pairs_network(
    runner,
) -> None:
    """SPEC §1: a référent is « any + role validation for one network »; a hors pair who
    represents a network validates its conseillers' registrations (`--validates`)."""
    result = user_create(
        runner,
        "--email", "representante@apec.example",
        "--name", "Représentante Apec",
        "--statut", "hors_pair",
        "--network", "expert",
        "--region", "bretagne",
        "--role", "validation",
        "--validates", "apec",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    member = db.session.scalar(select(Member))
    assert member.validation_network_id != member.network_id
    assert db.session.get(Network, member.validation_network_id).code == "apec"


BASE = ["--email", "nouveau@apec.example", "--name", "Nouveau Membre", "--statut", "pair"]


@pytest.mark.parametrize(
    ("options", "password", "message"),
    [
        pytest.param(
            [*BASE, "--network", "pole-emploi-1990", "--region", "bretagne"],
            PASSWORD,
            "Réseau ou organisation inconnu : 'pole-emploi-1990'.",
            id="unknown-network",
        ),
        pytest.param(
            [*BASE, "--network", "fongecif-opacif", "--region", "bretagne"],
            PASSWORD,
            "Ce réseau ou cette organisation n'existe plus : 'fongecif-opacif'.",
            id="historical-network",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "atlantide"],
            PASSWORD,
            "Région inconnue : 'atlantide'.",
            id="unknown-region",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "bretagne"],
            "court",
            "Le mot de passe doit compter au moins 10 caractères.",
            id="short-password",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "bretagne"],
            "",
            "Le mot de passe doit compter au moins 10 caractères.",
            id="empty-password",
        ),
        pytest.param(
            ["--email", "pas-une-adresse", "--name", "X", "--statut", "pair"]
            + ["--network", "apec", "--region", "bretagne"],
            PASSWORD,
            "Adresse e-mail invalide",
            id="bad-email",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "bretagne"],
            "abcdefghij",
            "Le mot de passe doit mêler au moins trois sortes de caractères",
            id="one-kind-password",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "bretagne"],
            "azertyuiop",
            "Le mot de passe doit mêler au moins trois sortes de caractères",
            id="common-password",
        ),
        pytest.param(
            ["--email", "claire@apec.example", "--name", "Nouveau Membre", "--statut", "pair"]
            + ["--network", "apec", "--region", "bretagne"],
            "Nouveau Membre 2026 !",
            "Le mot de passe ne doit pas contenir votre nom.",
            id="name-in-password",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "bretagne", "--role", "moderateur"],
            PASSWORD,
            "Rôle inconnu : moderateur (attendu : animation, validation, comite, admin).",
            id="unknown-role",
        ),
        pytest.param(
            ["--email", "hp@carif.example", "--name", "Hors Pair", "--statut", "hors_pair"]
            + ["--network", "carif-oref", "--region", "bretagne", "--role", "animation"],
            PASSWORD,
            "Le rôle « animation » est réservé aux pairs",
            id="animation-for-a-hors-pair",
        ),
        pytest.param(
            ["--email", "hp@carif.example", "--name", "Hors Pair", "--statut", "hors_pair"]
            + ["--network", "carif-oref", "--region", "bretagne", "--role", "validation"],
            PASSWORD,
            "Choisissez le réseau de pairs dont ce membre validera les inscriptions.",
            id="validation-without-a-network",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "bretagne", "--role", "validation"]
            + ["--validates", "dgefp"],
            PASSWORD,
            "« dgefp » n'est pas un réseau de pairs",
            id="validates-an-organisation",
        ),
        pytest.param(
            [*BASE, "--network", "apec", "--region", "bretagne", "--validates", "apec"],
            PASSWORD,
            "--validates va avec --role validation.",
            id="validates-without-the-role",
        ),
        pytest.param(
            ["--email", "x@apec.example", "--name", "X", "--statut", "structure"]
            + ["--network", "apec", "--region", "bretagne"],
            PASSWORD,
            "Statut inconnu : 'structure' (attendu : pair ou hors_pair).",
            id="unknown-statut",
        ),
    ],
)
def test_user_create_refuses_bad_references_with_a_clear_message(
    runner, options, password, message
) -> None:
    result = user_create(runner, *options, password=password)
    assert result.exit_code == 1
    assert f"Erreur : {message}" in result.output
    assert "Traceback" not in result.output
    assert member_count() == 0


def test_user_create_refuses_a_duplicate_email_whatever_its_case(runner) -> None:
    options = [*BASE, "--network", "apec", "--region", "bretagne"]
    assert user_create(runner, *options).exit_code == 0
    duplicate = [*options]
    duplicate[1] = "NOUVEAU@apec.example"
    result = user_create(runner, *duplicate)
    assert result.exit_code == 1
    assert "Erreur : Un membre utilise déjà l'adresse nouveau@apec.example." in result.output
    assert member_count() == 1


def test_user_create_needs_the_password_on_standard_input(runner) -> None:
    result = runner.invoke(
        args=["user", "create", *BASE, "--network", "apec", "--region", "bretagne"]
    )
    assert result.exit_code == 2
    assert "--password-stdin" in result.output
    assert member_count() == 0


def test_console_script_lists_the_domain_commands(runner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("user", "seed-demo", "db"):
        assert command in result.output


# --- seed-demo ------------------------------------------------------------------------


def _totals() -> tuple[int, int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count(Member.id))),
        db.session.scalar(select(func.count(Topic.id))),
        db.session.scalar(select(func.count(Post.id))),
    )


def test_seed_demo_loads_members_and_32_topics_once(runner) -> None:
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Données de démonstration chargées." in first.output
    members, topics, posts = _totals()
    assert len(DEMO_TOPICS) == 32
    assert members == len(DEMO_MEMBERS)
    assert topics == 32
    assert posts == 32 + sum(len(spec["replies"]) for spec in DEMO_TOPICS)
    for spec in DEMO_MEMBERS:
        assert spec["email"] in first.output

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "déjà présentes" in second.output
    assert _totals() == (members, topics, posts)


def test_seed_demo_leaves_every_rubrique_counter_equal_to_the_real_counts(runner) -> None:
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    visible_topic = and_(Topic.category_id == Category.id, Topic.is_hidden.is_(False))
    real_topics = (
        select(func.count(Topic.id)).where(visible_topic).correlate(Category).scalar_subquery()
    )
    real_posts = (
        select(func.count(Post.id))
        .join(Topic, Topic.id == Post.topic_id)
        .where(visible_topic, Post.is_hidden.is_(False))
        .correlate(Category)
        .scalar_subquery()
    )
    last_post = (
        select(Post.id)
        .join(Topic, Topic.id == Post.topic_id)
        .where(visible_topic, Post.is_hidden.is_(False))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(1)
        .correlate(Category)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            Category.slug,
            Category.topic_count,
            real_topics,
            Category.post_count,
            real_posts,
            Category.last_post_id,
            last_post,
        ).order_by(Category.id)
    ).all()
    assert rows
    mismatched = [row for row in rows if (row[1], row[3], row[5]) != (row[2], row[4], row[6])]
    assert mismatched == []
    assert sum(row[2] for row in rows) == 32
    # The topic counters too: post_count is the number of visible posts of each topic.
    topic_rows = db.session.execute(
        select(
            Topic.id,
            Topic.post_count,
            select(func.count(Post.id))
            .where(Post.topic_id == Topic.id, Post.is_hidden.is_(False))
            .correlate(Topic)
            .scalar_subquery(),
            Topic.last_post_id,
            select(func.max(Post.id))
            .where(Post.topic_id == Topic.id)
            .correlate(Topic)
            .scalar_subquery(),
        )
    ).all()
    assert [row for row in topic_rows if (row[1], row[3]) != (row[2], row[4])] == []


# --- posts render ----------------------------------------------------------------------


def test_posts_render_applies_the_rendering_rules_of_today_to_older_messages(
    runner, members, client_for
) -> None:
    """Pages show the HTML stored at write time: a post written before mentions became
    links (or before another site's images became links) keeps the old HTML until
    `comcep posts render` writes it again; what is already current is left as it is."""
    topic = make_topic(
        members["pair"], body="Merci @Paire Deux ! ![x](https://pixel.example/a.gif)"
    )
    old_html = '<p>Merci @Paire Deux ! <img src="https://pixel.example/a.gif" alt="x"></p>\n'
    conversation = messages.start_conversation(
        members["pair"], [members["other_pair"]], "Sujet", "Bonjour @Paire Deux."
    )
    db.session.commit()
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    first.body_html = old_html  # as stored by an earlier version
    message = db.session.scalar(
        select(PrivateMessage).where(PrivateMessage.conversation_id == conversation.id)
    )
    message.body_html = "<p>Bonjour @Paire Deux.</p>\n"
    indexing.enqueue_posts([first.id])  # the index holds the old HTML too
    db.session.commit()
    outbox.process()
    reader = client_for(members["other_pair"])
    assert topic.title not in reader.get("/recherche?q=%22autre+site%22").get_data(as_text=True)

    result = runner.invoke(args=["posts", "render", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "2 message(s) mis à jour." in result.output
    db.session.expire_all()
    other = members["other_pair"].id
    post_html = db.session.get(Post, first.id).body_html
    assert f'<a href="/membres/{other}" class="mention">@Paire Deux</a>' in post_html
    assert "<img" not in post_html
    assert 'class="mention"' in db.session.get(PrivateMessage, message.id).body_html
    # The changed post is indexed again: the words only its new HTML holds are found.
    assert topic.title in reader.get("/recherche?q=%22autre+site%22").get_data(as_text=True)

    again = runner.invoke(args=["posts", "render"])
    assert again.exit_code == 0, again.output
    assert "0 message(s) mis à jour." in again.output


def test_posts_render_keeps_an_edit_saved_while_it_renders(members, monkeypatch) -> None:
    """The rendering reads a post, then writes its HTML: an edit saved in between (say the
    animatrice removing a name) keeps its own HTML, not the old text's."""
    from comcep.forum import services

    topic = make_topic(members["pair"], body="Ancien texte")
    post_id = db.session.scalar(select(Post.id).where(Post.topic_id == topic.id))
    db.session.execute(update(Post).where(Post.id == post_id).values(body_html="<p>vieux</p>"))
    db.session.commit()
    real = services.render_markdown

    def edited_meanwhile(source: str, mentions=None) -> str:  # noqa: ANN001
        with db.engine.begin() as other:  # another request's transaction
            other.execute(
                update(Post)
                .where(Post.id == post_id)
                .values(body_source="Texte corrigé", body_html="<p>Texte corrigé</p>\n")
            )
        return real(source, mentions)

    monkeypatch.setattr(services, "render_markdown", edited_meanwhile)
    services.render_rows_again(Post, Post.id == post_id)
    db.session.commit()
    db.session.expire_all()
    post = db.session.get(Post, post_id)
    assert (post.body_source, post.body_html) == ("Texte corrigé", "<p>Texte corrigé</p>\n")
