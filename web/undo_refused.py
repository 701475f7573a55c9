"""The refusal an undo raises when it changed nothing (its own module so every inverse can raise it)."""

from __future__ import annotations


class UndoRefused(Exception):
    """An undo that changed nothing; the message says why, for the user."""
