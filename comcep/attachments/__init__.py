"""Attachments (« pièces jointes »): shared tools, stored by content hash, behind the wall."""
