"""Private messages between members (« messages privés »)."""
