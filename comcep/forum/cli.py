"""`comcep seed-demo`: demo members of every kind and realistic French topics; `comcep posts
render`: the stored HTML of every message rendered again."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select, update

from comcep import outbox
from comcep.errors import ComcepError, FrenchError
from comcep.extensions import db, utcnow
from comcep.forum import services
from comcep.forum.demo_content import DEMO_MEMBERS, DEMO_PASSWORD, DEMO_TOPICS
from comcep.forum.models import Category, Post
from comcep.members.models import Member
from comcep.members.services import create_member
from comcep.messages.models import PrivateMessage
from comcep.notifications.models import Notification


@click.group("posts")
def posts_group() -> None:
    """Messages du forum et messages privés."""


@posts_group.command("render")
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Messages par transaction.",
)
@with_appcontext
def posts_render(batch: int) -> None:
    """Refaire le HTML de chaque message depuis son texte (après un changement des règles
    d'affichage : images d'autres sites, mentions)."""
    total = db.session.scalar(select(func.count(Post.id))) or 0
    total += db.session.scalar(select(func.count(PrivateMessage.id))) or 0
    with click.progressbar(length=total, label="Messages relus") as bar:
        changed = services.render_again(max(1, batch), bar.update)
    outbox.process()  # the search index of the posts changed (Whoosh: through the outbox)
    click.echo(f"{changed} message(s) mis à jour.")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Charger les données de démonstration (sans effet si elles sont déjà là)."""
    try:
        created = load_demo_data()
    except ComcepError as error:  # one demo address already used by someone else
        db.session.rollback()
        raise FrenchError(
            f"{error.message} Les données de démonstration n'ont pas été chargées."
        ) from error
    click.echo(
        "Données de démonstration chargées."
        if created
        else "Données de démonstration déjà présentes."
    )
    click.echo(f"\nComptes de démonstration (mot de passe : {DEMO_PASSWORD}) :")
    for spec in DEMO_MEMBERS:
        click.echo(f"  {spec['email']:<42} {spec['description']}")


def load_demo_data() -> bool:
    """Create the demo members and topics once; return False when they already exist."""
    first_email = DEMO_MEMBERS[0]["email"]
    if db.session.scalar(select(Member.id).where(Member.email == first_email)) is not None:
        return False
    now = utcnow()
    members: dict[str, Member] = {}
    for spec in DEMO_MEMBERS:
        member = create_member(
            email=spec["email"],
            name=spec["name"],
            statut=spec["statut"],
            network_code=spec["network"],
            region_code=spec["region"],
            password=DEMO_PASSWORD,
            roles=spec["roles"],
            groups=spec["groups"],
            organisation=spec["organisation"],
        )
        member.created_at = now - timedelta(days=200)
        members[spec["key"]] = member
    categories = {c.slug: c for c in db.session.scalars(select(Category))}
    for spec in sorted(DEMO_TOPICS, key=lambda t: -t["days_ago"]):
        opened = now - timedelta(days=spec["days_ago"])
        topic = services.create_topic(
            members[spec["author"]],
            categories[spec["category"]],
            spec["title"],
            spec["body"],
            at=opened,
        )
        topic.is_pinned = bool(spec.get("pinned"))
        services.set_tags(topic, spec.get("tags", []))
        for answer in spec["replies"]:
            at = min(opened + timedelta(hours=answer["hours_after"]), now)
            services.reply(members[answer["author"]], topic, answer["body"], at=at)
    services.refresh_category_counters()
    db.session.commit()
    outbox.process()  # index the demo posts and build their notifications now
    # The demo's notifications stay in the bell, but nobody is e-mailed about old posts.
    db.session.execute(update(Notification).values(emailed_at=utcnow()))
    db.session.commit()
    return True
