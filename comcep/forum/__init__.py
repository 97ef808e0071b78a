"""The forum itself: thèmes and rubriques, topics, posts and read tracking."""
