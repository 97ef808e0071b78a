"""Members, networks, regions, groups: who belongs to ComCEP and how they log in."""
