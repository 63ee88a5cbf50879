"""The report package's own failures, so a caller can tell a bad request from a bug."""

from __future__ import annotations

from core.errors import BreakthroughError

__all__ = ["PictureStyleError", "ReportError"]


class ReportError(BreakthroughError):
    """Base of the errors :mod:`core.report` raises on purpose."""


class PictureStyleError(ReportError, ValueError):
    """A plan picture was asked for in a style there is no drawing for.

    Raised when a method's ``record`` choice grows a new value (say ``timeline``) before
    the picture module learns to draw it; ``list`` is never a picture.
    """
