"""Moderation: reports, the review queue, post/topic/member actions and their log."""
