"""`comcep backup` (issue 9, part 6): a backup restored into a fresh instance, as the README
says, holds every topic, post and attachment, and `comcep search rebuild` works there.

SQLite pass: the copy is put in place of a new instance's database file. PostgreSQL pass: the
dump is restored with pg_restore into a database made for the test, dropped afterwards.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import unescape
from io import BytesIO
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask_login import FlaskLoginClient
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url

from comcep import backup as backup_module
from comcep import create_app
from comcep.attachments.models import Attachment
from comcep.extensions import db
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member
from config import TestConfig
from tests.factories import make_topic

ATTACHMENT = b"Grille d'entretien : 1. parcours, 2. projet, 3. freins.\n"


@pytest.fixture
def forum(make_member: Callable[..., Member], client_for) -> dict:
    """Topics in several rubriques, replies, a hidden-from-nobody attachment; all committed."""
    pair, other = make_member(name="Claire Martin"), make_member(name="Paul Lambert")
    topics = [
        make_topic(
            pair,
            "premier-entretien",
            "Préparer un premier entretien",
            "Quelles questions posez-vous d'abord ?",
            replies=[(other, "Le parcours, puis le projet."), (pair, "Merci beaucoup !")],
        ),
        make_topic(other, "premier-entretien", "Orthographe : éèêë « guillemets » & co", "Test."),
    ]
    response = client_for(pair).post(
        "/r/premier-entretien/nouveau-sujet",
        data={
            "title": "Une grille d'entretien partagée",
            "body": "La grille que nous utilisons, en pièce jointe. Mot unique : zygomatique.",
            "attachments": (BytesIO(ATTACHMENT), "grille.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    attachment = db.session.scalar(select(Attachment))
    assert attachment is not None
    return {"reader": other, "topics": topics, "attachment_id": attachment.id}


def _snapshot() -> dict:
    """What must survive: topics (title, counts), posts, rubrique counters, attachments."""
    return {
        "topics": db.session.execute(
            select(Topic.id, Topic.title, Topic.post_count, Topic.last_post_id).order_by(Topic.id)
        ).all(),
        "posts": db.session.execute(
            select(Post.id, Post.topic_id, Post.number, Post.body_source).order_by(Post.id)
        ).all(),
        "categories": db.session.execute(
            select(Category.slug, Category.topic_count, Category.post_count).order_by(Category.id)
        ).all(),
        "attachments": db.session.execute(
            select(Attachment.id, Attachment.filename, Attachment.key).order_by(Attachment.id)
        ).all(),
        "members": db.session.scalar(select(func.count(Member.id))),
    }


def _restore(backup_file: Path, target: URL) -> None:
    """The README's restore step for each database."""
    if target.get_backend_name() == "sqlite":
        Path(target.database).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup_file, target.database)
        return
    pg_restore = shutil.which("pg_restore")
    assert pg_restore, "pg_restore is needed to test PostgreSQL restores"
    uri, env = backup_module.libpq_url(target)
    completed = subprocess.run(
        [pg_restore, "--clean", "--if-exists", "--no-owner", f"--dbname={uri}", str(backup_file)],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


@contextmanager
def _restored_app(target: URL, instance: Path) -> Iterator[Flask]:
    restored = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=target.render_as_string(hide_password=False),
        SQLALCHEMY_ENGINE_OPTIONS={},  # create_app fills it in place: not the class's dict
        INSTANCE_PATH=str(instance),
        SEARCH_INDEX_PATH=str(instance / "search-index"),
        UPLOAD_PATH=str(instance / "uploads"),
        WTF_CSRF_ENABLED=False,
    )
    restored.test_client_class = FlaskLoginClient
    try:
        yield restored
    finally:
        with restored.app_context():
            backend = restored.extensions.get("comcep_search")
            if backend is not None and hasattr(backend, "close"):
                backend.close()
            db.session.remove()
            db.engine.dispose()


def test_a_backup_restored_into_a_fresh_instance_holds_every_topic(
    app: Flask, runner, forum: dict, tmp_path: Path, fresh_database_url: str
) -> None:
    before = _snapshot()
    output = tmp_path / "sauvegardes" / "comcep-test.sauvegarde"
    result = runner.invoke(args=["backup", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"Base sauvegardée dans {output}" in result.output
    archive = backup_module.uploads_archive_path(output)
    assert f"Pièces jointes archivées dans {archive}" in result.output

    instance = tmp_path / "restauree"
    target = make_url(fresh_database_url)  # empty, of the suite's kind
    _restore(output, target)
    instance.mkdir(exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(instance, filter="data")
    with _restored_app(target, instance) as restored, restored.app_context():
        # Commands run against the app of the current context: the restored one here.
        cli = restored.test_cli_runner()
        upgrade = cli.invoke(args=["db", "upgrade"])
        assert upgrade.exit_code == 0, upgrade.output
        rebuild = cli.invoke(args=["search", "rebuild"])
        assert rebuild.exit_code == 0, rebuild.output
        assert f"{len(before['posts'])} messages indexés." in rebuild.output
        check = cli.invoke(args=["search", "check"])
        assert check.exit_code == 0, check.output
        after = _snapshot()
        assert after == before

        # The restored site shows every topic, the attachment and search results.
        reader = restored.test_client(user=forum["reader"])
        for topic_id, title, post_count, _last in before["topics"]:
            page = reader.get(f"/t/{topic_id}", follow_redirects=True)
            assert page.status_code == 200
            html = page.get_data(as_text=True)
            assert title in unescape(html)
            post_ids = [p.id for p in before["posts"] if p.topic_id == topic_id]
            assert len(post_ids) == post_count
            for post_id in post_ids:
                assert f'id="p{post_id}"' in html
        attachment = reader.get(f"/pj/{forum['attachment_id']}/grille.txt")
        assert attachment.status_code == 200
        assert attachment.data == ATTACHMENT
        attachment.close()
        results = reader.get("/recherche?q=zygomatique").get_data(as_text=True)
        assert "Une grille d'entretien" in unescape(results)


def test_the_backup_is_a_snapshot_taken_while_a_writer_holds_a_transaction(
    app: Flask, runner, forum: dict, tmp_path: Path
) -> None:
    """The site keeps writing during a backup: the copy waits for no one and holds only
    committed data."""
    topic = forum["topics"][0]
    output = tmp_path / "pendant-ecriture.sauvegarde"
    update = f"UPDATE topics SET title = 'Jamais validé' WHERE id = {int(topic.id)}"  # noqa: S608
    if db.engine.dialect.name == "sqlite":
        writer = sqlite3.connect(db.engine.url.database, timeout=5)
        writer.execute("BEGIN IMMEDIATE")  # the write lock, held until rollback
    else:
        uri, env = backup_module.libpq_url(db.engine.url)
        writer = psycopg.connect(uri, password=env.get("PGPASSWORD"))
    try:
        writer.execute(update)
        result = runner.invoke(args=["backup", "--output", str(output), "--without-uploads"])
        assert result.exit_code == 0, result.output
    finally:
        writer.rollback()
        writer.close()
    assert _titles_in_backup(output) >= {"Préparer un premier entretien"}
    assert "Jamais validé" not in _titles_in_backup(output)


def _titles_in_backup(path: Path) -> set[str]:
    if db.engine.dialect.name == "sqlite":
        copy = sqlite3.connect(path)
        try:
            assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            return {row[0] for row in copy.execute("SELECT title FROM topics")}
        finally:
            copy.close()
    listing = subprocess.run(
        [shutil.which("pg_restore") or "pg_restore", "--data-only", "--table=topics", "-f", "-"]
        + [str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    data = listing.split("FROM stdin;\n", 1)[1].split("\n\\.", 1)[0]
    columns = re.search(r"COPY public\.topics \(([^)]*)\)", listing).group(1).split(", ")
    index = columns.index("title")
    return {line.split("\t")[index] for line in data.splitlines()}


def test_backup_goes_to_the_instance_folder_by_default(app: Flask, runner, forum) -> None:
    folder = Path(app.instance_path) / "sauvegardes"
    try:
        result = runner.invoke(args=["backup"])
        assert result.exit_code == 0, result.output
        files = sorted(p.name for p in folder.iterdir())
        suffix = ".sqlite3" if db.engine.dialect.name == "sqlite" else ".dump"
        assert [name for name in files if not name.endswith(".pj.tar.gz")][0].endswith(suffix)
        assert any(name.endswith(".pj.tar.gz") for name in files)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_missing_pg_dump_gets_a_clear_french_message(
    runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backup_module.shutil, "which", lambda _name: None)
    url = make_url("postgresql+psycopg://comcep@127.0.0.1:5432/comcep")
    with pytest.raises(backup_module.BackupError, match="pg_dump est introuvable"):
        backup_module.backup_postgres(url, tmp_path / "x.dump")
    if db.engine.dialect.name == "postgresql":  # and through the command, exit code 1
        result = runner.invoke(args=["backup", "--output", str(tmp_path / "y.dump")])
        assert result.exit_code == 1
        assert "Échec de la sauvegarde : pg_dump est introuvable" in result.output
        assert not (tmp_path / "y.dump").exists()


def test_an_in_memory_database_cannot_be_backed_up(tmp_path: Path) -> None:
    with pytest.raises(backup_module.BackupError, match="en mémoire"):
        backup_module.backup_sqlite(make_url("sqlite://"), tmp_path / "x.sqlite3")


def test_the_postgres_password_goes_to_the_environment_not_the_command_line() -> None:
    url = make_url("postgresql+psycopg://comcep:s3cr%40t@db.example:5433/comcep?sslmode=require")
    uri, env = backup_module.libpq_url(url)
    assert uri == "postgresql://comcep@db.example:5433/comcep?sslmode=require"
    assert env == {"PGPASSWORD": "s3cr@t"}
