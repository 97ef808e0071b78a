"""Where attachment bytes live: a small interface, a local folder keyed by content hash.
A shared or object store can implement the same three methods later."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app


class Storage(Protocol):
    def put(self, data: bytes) -> str: ...
    def path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> set[str]: ...


class LocalStorage:
    """Files under `root/ab/cd/<sha256>`, written atomically; equal files are stored once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        target = self.path(key)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return key

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self) -> set[str]:
        return {p.name for p in self.root.glob("??/??/*") if p.is_file() and len(p.name) == 64}


def get_storage() -> Storage:
    return LocalStorage(current_app.config["UPLOAD_PATH"])
