"""Reports of a session: the Markdown document, the plan as a picture, a team's progress chart.

Everything here is pure: it takes a method and plain data (:mod:`core.report.model`)
and returns text or PNG bytes, so adapters can send the result however their platform
likes, and a report can be re-rendered from an export long after the session.
"""

from __future__ import annotations

from core.report.errors import PictureStyleError, ReportError
from core.report.markdown import render_report, report_filename
from core.report.picture import PictureStyle, picture_alt, plan_picture, render_picture
from core.report.progress import render_progress

__all__ = [
    "PictureStyle",
    "PictureStyleError",
    "ReportError",
    "picture_alt",
    "plan_picture",
    "render_picture",
    "render_progress",
    "render_report",
    "report_filename",
]
