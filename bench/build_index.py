"""Build a generated forum's search index with one bulk Whoosh writer (one commit).

`comcep search rebuild` commits every 2,000 posts, so Whoosh merges its segments again and
again: 279 s for 100 k posts here, well over an hour for 1 M on a busy 2-core machine. This
tool indexes the same documents (`indexing.iter_documents`) with the same schema and fields
(`WhooshBackend`), adding them all in one writer: only for the benchmark's 1 M forum.

    python bench/build_index.py --database-url sqlite:///… --instance-path /tmp/comcep-bench/…
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path


def build(url: str, instance: str) -> tuple[int, float]:
    from comcep import create_app
    from comcep.search import indexing
    from comcep.search.whoosh_backend import WhooshBackend
    from config import Config, normalise_database_url

    index_dir = Path(instance) / "search-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    app = create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(url),
        INSTANCE_PATH=instance,
        SEARCH_INDEX_PATH=str(index_dir),
    )
    started = time.perf_counter()
    count = 0
    with app.app_context():
        backend = WhooshBackend(index_dir)
        writer = backend._index().writer(limitmb=512)
        for doc in indexing.iter_documents(5000):
            writer.add_document(**WhooshBackend._fields(doc))
            count += 1
            if count % 100_000 == 0:
                print(f"  {count} documents, {time.perf_counter() - started:.0f} s", flush=True)
        writer.commit()
    return count, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--instance-path", required=True)
    args = parser.parse_args()
    count, seconds = build(args.database_url, args.instance_path)
    print(f"{count} messages indexés en {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
