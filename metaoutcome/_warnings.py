"""Warnings that point at the user's call, shared by every model entry point."""

from __future__ import annotations

import sys
import warnings

__all__ = ["user_stacklevel", "Notes"]


def user_stacklevel() -> int:
    """Stack level of the first frame outside metaoutcome, so warnings point at the user's call.

    >>> user_stacklevel() >= 1
    True
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("metaoutcome"):
        level += 1
        frame = frame.f_back  # type: ignore[assignment]
    return level


class Notes:
    """Collects warnings: issues each with :func:`warnings.warn` and records it on the result."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def warn(self, msg: str) -> None:
        self.items.append(msg)
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
