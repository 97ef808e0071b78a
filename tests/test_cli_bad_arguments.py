"""The command line given bad arguments (review C): a clear French message on stderr and a
non-zero exit, never a Python exception (CliRunner shows it as `result.exception`, a real
`comcep` run prints a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from comcep.extensions import db
from comcep.members.models import Group, Member

PASSWORD = "un-mot-de-passe-solide"
BASE = ["--email", "nouveau@apec.example", "--name", "Nouveau Membre", "--statut", "pair",
        "--region", "bretagne"]  # fmt: skip


def user_create(runner, *options: str):  # noqa: ANN001, ANN201
    return runner.invoke(
        args=["user", "create", *options, "--password-stdin"], input=f"{PASSWORD}\n"
    )


def refused_cleanly(result) -> None:  # noqa: ANN001
    """Refused with a message, not by an exception escaping the command."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.strip(), "no message"


def member_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Member.id)))


def test_user_create_with_the_same_group_twice_puts_the_member_in_it_once(runner) -> None:
    result = user_create(
        runner, *BASE, "--network", "apec", "--group", "Groupe pilote", "--group", "Groupe pilote "
    )
    assert result.exit_code == 0, result.output
    member = db.session.scalar(select(Member).where(Member.email == "nouveau@apec.example"))
    assert [group.name for group in member.groups] == ["Groupe pilote"]


def test_user_create_refuses_an_unknown_group_unless_a_new_one_is_asked_for(runner) -> None:
    """A mistyped `--group "Groupe pilot"` created a group of one, exit 0, and the member
    never reached « Groupe pilote » (review of stop 52): an unknown name is refused with the
    existing ones; `--new-group` creates it."""
    result = user_create(runner, *BASE, "--network", "apec", "--group", "Groupe pilot")
    refused_cleanly(result)
    assert "Groupe inconnu : Groupe pilot (groupes existants : Groupe pilote)" in result.output
    assert db.session.scalar(select(Group).where(Group.name == "Groupe pilot")) is None
    assert member_count() == 0

    created = user_create(
        runner, *BASE, "--network", "apec", "--group", "Groupe régional", "--new-group"
    )
    assert created.exit_code == 0, created.output
    member = db.session.scalar(select(Member).where(Member.email == "nouveau@apec.example"))
    assert [group.name for group in member.groups] == ["Groupe régional"]


def test_user_create_refuses_an_empty_group_name(runner) -> None:
    result = user_create(runner, *BASE, "--network", "apec", "--group", "")
    refused_cleanly(result)
    assert db.session.scalar(select(Group).where(Group.name == "")) is None


def test_user_create_refuses_a_group_name_longer_than_the_column(runner) -> None:
    """groups.name is String(80): SQLite stores 200 characters silently, PostgreSQL raises
    a DataError traceback."""
    result = user_create(runner, *BASE, "--network", "apec", "--group", "G" * 200)
    refused_cleanly(result)


def test_user_create_refuses_an_organisation_longer_than_the_column(runner) -> None:
    """members.organisation is String(160): the web form limits it, the CLI does not."""
    result = user_create(runner, *BASE, "--network", "apec", "--organisation", "O" * 500)
    refused_cleanly(result)
    assert member_count() == 0


@pytest.mark.parametrize(
    ("statut", "network"), [("pair", "carif-oref"), ("hors_pair", "france-travail")]
)
def test_user_create_refuses_a_network_of_the_other_statut(runner, statut, network) -> None:
    """The admin page refuses a pair in a hors-pair organisation (`update_member`:
    network.kind != statut); the CLI creates one, which then counts among the pairs'
    networks in the comité's figures."""
    options = ["--email", "x@exemple.fr", "--name", "Xavier Yon", "--statut", statut,
               "--network", network, "--region", "bretagne"]  # fmt: skip
    result = user_create(runner, *options)
    refused_cleanly(result)
    assert member_count() == 0


def test_user_create_refuses_an_address_that_is_only_an_at_sign(runner) -> None:
    result = user_create(
        runner, "--email", "@", "--name", "Xavier Yon", "--statut", "pair",
        "--network", "apec", "--region", "bretagne",
    )  # fmt: skip
    refused_cleanly(result)
    assert member_count() == 0


def test_posts_render_with_a_huge_batch_ends_with_a_message(runner) -> None:
    result = runner.invoke(args=["posts", "render", "--batch", "99999999999999999999999"])
    # Today: OverflowError('Python int too large to convert to SQLite INTEGER').
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


@pytest.mark.parametrize("where", ["under-a-file", "unwritable"])
def test_backup_to_an_impossible_place_ends_with_a_french_message(
    runner, tmp_path: Path, where: str
) -> None:
    if where == "under-a-file":
        (tmp_path / "un-fichier").write_text("x")
        output = tmp_path / "un-fichier" / "sauvegarde.sqlite3"
    else:
        output = Path("/proc/comcep-introuvable/sauvegarde.sqlite3")
    result = runner.invoke(args=["backup", "--output", str(output)])
    refused_cleanly(result)
    assert "sauvegarde" in result.output.lower()


def test_seed_demo_with_one_demo_address_already_taken_ends_with_a_message(runner) -> None:
    """`seed-demo` is « sans effet si elles sont déjà là » only when the *first* demo member
    exists: an administrator who created a later demo address by hand gets a ComcepError
    traceback."""
    from comcep.forum.demo_content import DEMO_MEMBERS

    second = DEMO_MEMBERS[1]
    created = user_create(
        runner, "--email", second["email"], "--name", "Karim Benali", "--statut", "pair",
        "--network", "apec", "--region", "bretagne",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    result = runner.invoke(args=["seed-demo"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
