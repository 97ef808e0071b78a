"""`comcep backup`: a consistent copy of the database, taken while the site runs, plus the
attachments folder. Restoring is documented in the README (« Sauvegarde et restauration »).

- SQLite: SQLite's online backup API copies the whole file inside one read transaction, so
  the copy is a snapshot even while gunicorn workers write (WAL: readers never block them).
- PostgreSQL: `pg_dump --format=custom`, itself a single-snapshot dump, restored with
  `pg_restore`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import URL

from comcep.extensions import db

logger = logging.getLogger(__name__)

PG_DUMP_TIMEOUT = 6 * 3600  # seconds: a dump that hangs longer is an incident, not a backup


class BackupError(Exception):
    """A backup that could not be made, with a French message for the operator."""


@dataclass
class BackupResult:
    database: Path
    uploads: Path | None


def default_output(url: URL, instance_path: str) -> Path:
    """`<instance>/sauvegardes/comcep-<date-heure>.sqlite3` (or `.dump` for PostgreSQL)."""
    suffix = ".sqlite3" if url.get_backend_name() == "sqlite" else ".dump"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # local time: read by people
    return Path(instance_path) / "sauvegardes" / f"comcep-{stamp}{suffix}"


def uploads_archive_path(output: Path) -> Path:
    return output.with_name(output.name + ".pj.tar.gz")


def backup(output: Path | None = None, *, with_uploads: bool = True) -> BackupResult:
    """Back up the configured database to `output` (and the uploads beside it)."""
    url = db.engine.url
    output = Path(output) if output else default_output(url, current_app.instance_path)
    output = output.resolve()
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"Base de données non prise en charge pour la sauvegarde : {backend}.")
    uploads = None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if backend == "sqlite":
            backup_sqlite(url, output)
        else:
            backup_postgres(url, output)
        if with_uploads:
            uploads = archive_uploads(Path(current_app.config["UPLOAD_PATH"]), output)
    except OSError as error:  # under a file, a read-only place, a mistyped cron path, a full disk
        where = error.filename or output
        raise BackupError(f"{where} : {error.strerror or error}.") from error
    logger.info("Backup written to %s", output)
    return BackupResult(database=output, uploads=uploads)


def backup_sqlite(url: URL, output: Path) -> None:
    """Copy a live SQLite database with the online backup API, then check the copy."""
    source_path = url.database
    if not source_path or source_path == ":memory:" or source_path.startswith("file::memory:"):
        raise BackupError("Une base SQLite en mémoire ne peut pas être sauvegardée.")
    source_file = Path(source_path)
    if not source_file.is_file():
        raise BackupError(f"La base SQLite {source_file} est introuvable.")
    if source_file.resolve() == output:
        raise BackupError("La sauvegarde ne peut pas remplacer la base elle-même.")
    fd, temporary = tempfile.mkstemp(dir=output.parent, prefix=".comcep-", suffix=".tmp")
    os.close(fd)
    try:
        source = sqlite3.connect(source_file, timeout=60)
        try:
            target = sqlite3.connect(temporary)
            try:
                source.backup(target)  # all pages in one step: one consistent snapshot
                target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
                (verdict,) = target.execute("PRAGMA integrity_check").fetchone()
            finally:
                target.close()
        finally:
            source.close()
        if verdict != "ok":
            raise BackupError(f"La copie de la base est corrompue : {verdict}.")
        os.replace(temporary, output)
    except sqlite3.Error as error:
        raise BackupError(f"La copie de la base SQLite a échoué : {error}.") from error
    finally:
        Path(temporary).unlink(missing_ok=True)


def libpq_url(url: URL) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI for pg_dump/pg_restore, its password in the environment
    (never on a command line, where `ps` would show it)."""
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    env = {}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def backup_postgres(url: URL, output: Path) -> None:
    """`pg_dump --format=custom` of the configured database into `output`."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump est introuvable : installez le client PostgreSQL (paquet "
            "« postgresql-client », de la même version que le serveur ou plus récent) "
            "puis relancez « comcep backup »."
        )
    uri, extra_env = libpq_url(url)
    temporary = output.with_name(f".{output.name}.tmp")
    command = [pg_dump, "--format=custom", "--no-owner", f"--file={temporary}", f"--dbname={uri}"]
    try:
        completed = subprocess.run(  # noqa: S603 - fixed program, arguments from configuration
            command,
            env={**os.environ, **extra_env},
            capture_output=True,
            text=True,
            timeout=PG_DUMP_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            raise BackupError(
                "pg_dump a échoué (code "
                f"{completed.returncode}) : {completed.stderr.strip() or completed.stdout.strip()}"
            )
        os.replace(temporary, output)
    except subprocess.TimeoutExpired as error:
        raise BackupError("pg_dump n'a pas terminé à temps.") from error
    finally:
        temporary.unlink(missing_ok=True)


def archive_uploads(upload_path: Path, output: Path) -> Path | None:
    """The attachments folder as `<output>.pj.tar.gz` (member `uploads/`); None if empty."""
    if not upload_path.is_dir() or not any(upload_path.iterdir()):
        return None
    archive = uploads_archive_path(output)
    temporary = archive.with_name(f".{archive.name}.tmp")
    try:
        with tarfile.open(temporary, "w:gz") as tar:
            tar.add(upload_path, arcname="uploads")
        os.replace(temporary, archive)
    finally:
        temporary.unlink(missing_ok=True)
    return archive


@click.command("backup")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier de sauvegarde (défaut : <instance>/sauvegardes/comcep-<date>.sqlite3|.dump).",
)
@click.option(
    "--with-uploads/--without-uploads",
    default=True,
    show_default=True,
    help="Archiver aussi les pièces jointes (<sortie>.pj.tar.gz).",
)
@with_appcontext
def backup_command(output: Path | None, with_uploads: bool) -> None:
    """Sauvegarder la base (copie cohérente, site en marche) et les pièces jointes."""
    try:
        result = backup(output, with_uploads=with_uploads)
    except BackupError as error:
        click.echo(f"Échec de la sauvegarde : {error}", err=True)
        raise SystemExit(1) from error
    size = result.database.stat().st_size
    click.echo(f"Base sauvegardée dans {result.database} ({size} octets).")
    if result.uploads is not None:
        click.echo(f"Pièces jointes archivées dans {result.uploads}.")
    elif with_uploads:
        click.echo("Aucune pièce jointe à archiver.")
