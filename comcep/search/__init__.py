"""Full-text search: one interface (backend.py), Whoosh for the embedded default."""
