"""Anonymised analyses for the comité opérationnel (SPEC §8): queries → anonymise → report."""
