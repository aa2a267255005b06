"""Shared code behind the course notebooks (see INDEX.md for one line per module)."""
