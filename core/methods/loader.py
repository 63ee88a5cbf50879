"""Loading method files: YAML in, a validated :class:`MethodSpec` out, or a precise error.

A broken method file must say which file, which line and what is wrong, because the
people who write method files are coaches, not Python programmers. PyYAML's node tree
keeps a line for every value; pydantic's error locations are mapped back onto it, and
the cross-references pydantic cannot see (a question that echoes a step that comes
later, a report section that does not exist) are checked here with the same care.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.errors import BreakthroughError
from core.methods.schema import BUILTIN_NAMES, MethodSpec, StepSpec, template_names

__all__ = [
    "MethodError",
    "MethodLibrary",
    "Problem",
    "builtin_method_files",
    "check_file",
    "load_file",
    "load_text",
]

_log = logging.getLogger(__name__)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with a method file, at a line (1-based; 0 when unknown)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class MethodError(BreakthroughError):
    """A method file is broken or a method is unknown; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _to_python(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    """Turn a composed YAML node into plain data, remembering each value's line."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                raise MethodError(
                    [
                        Problem(
                            file="",
                            line=key_node.start_mark.line + 1,
                            message=f"'{key}' appears twice",
                        )
                    ]
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """A scalar's value, typed as YAML resolved it (``"yes"`` stays a string if quoted)."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _line_for(loc: Iterable[str | int], lines: dict[Path_, int]) -> int:
    """The line of the deepest part of ``loc`` the file has (a missing key: its parent)."""
    path: Path_ = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), 0)


def _describe(loc: tuple[str | int, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts)


def _step_paths(data: Any) -> dict[str, Path_]:
    """Where each step id sits in the file, for cross-reference errors."""
    paths: dict[str, Path_] = {}
    if isinstance(data, dict):
        for pi, phase in enumerate(data.get("phases") or []):
            if not isinstance(phase, dict):
                continue
            for si, step in enumerate(phase.get("steps") or []):
                if isinstance(step, dict) and isinstance(step.get("id"), str):
                    paths.setdefault(step["id"], ("phases", pi, "steps", si))
    return paths


def _cross_check(spec: MethodSpec, data: Any, lines: dict[Path_, int], file: str) -> list[Problem]:
    """The rules that span several steps: ids, references, templates, report targets."""
    problems: list[Problem] = []
    paths = _step_paths(data)

    def at(step_id: str, key: str | None = None) -> int:
        base = paths.get(step_id, ())
        return _line_for((*base, key) if key else base, lines)

    seen: dict[str, StepSpec] = {}
    section_ids = {s.id for s in spec.report.sections if s.id}
    for step in spec.steps:
        if step.id in seen or step.id in BUILTIN_NAMES:
            why = "is used twice" if step.id in seen else "is a reserved name"
            problems.append(
                Problem(file=file, line=at(step.id), message=f"step id '{step.id}' {why}")
            )
        if step.not_before and (
            step.not_before not in seen or seen[step.not_before].kind != "date"
        ):
            problems.append(
                Problem(
                    file=file,
                    line=at(step.id, "not_before"),
                    message=f"step '{step.id}': not_before must name an earlier date step",
                )
            )
        for key, ref in (("source", step.source), ("continues", step.continues)):
            if ref and ref not in seen:
                problems.append(
                    Problem(
                        file=file,
                        line=at(step.id, key),
                        message=f"step '{step.id}': {key} '{ref}' must name an earlier step",
                    )
                )
            elif ref and seen[ref].kind not in ("collect", "order"):
                problems.append(
                    Problem(
                        file=file,
                        line=at(step.id, key),
                        message=f"step '{step.id}': {key} '{ref}' is a {seen[ref].kind} step; "
                        "it must be a collect or order step",
                    )
                )
        if step.when and step.when.answer not in seen:
            problems.append(
                Problem(
                    file=file,
                    line=at(step.id, "when"),
                    message=f"step '{step.id}': when refers to '{step.when.answer}', "
                    "which is not an earlier step",
                )
            )
        for key in ("prompt", "again", "ack", "commit_text"):
            template = getattr(step, key)
            if not template:
                continue
            try:
                names = template_names(template)
            except ValueError as exc:
                problems.append(
                    Problem(
                        file=file, line=at(step.id, key), message=f"step '{step.id}' {key}: {exc}"
                    )
                )
                continue
            for name in names:
                if name not in BUILTIN_NAMES and name not in seen and name != step.id:
                    problems.append(
                        Problem(
                            file=file,
                            line=at(step.id, key),
                            message=f"step '{step.id}' {key} uses {{{name}}}, which is not an "
                            f"earlier step or one of {', '.join(sorted(BUILTIN_NAMES))}",
                        )
                    )
        if step.report and step.report not in section_ids:
            problems.append(
                Problem(
                    file=file,
                    line=at(step.id, "report"),
                    message=f"step '{step.id}' reports to '{step.report}', which is not a "
                    f"report section id (known: {', '.join(sorted(section_ids))})",
                )
            )
        if step.report:
            section = spec.section(step.report)
            if section and section.style == "fields" and step.label not in section.fields:
                problems.append(
                    Problem(
                        file=file,
                        line=at(step.id, "label"),
                        message=f"step '{step.id}' reports to the fields section '{step.report}' "
                        f"and needs a label, one of: {', '.join(section.fields)}",
                    )
                )
            if (
                section
                and section.style == "table"
                and step.kind != "each"
                and not (step.kind == "ask" and step.label)
            ):
                problems.append(
                    Problem(
                        file=file,
                        line=at(step.id, "report"),
                        message=f"step '{step.id}': a table '{step.report}' takes each steps "
                        "(a row per item) or ask steps with a label (the label is the row)",
                    )
                )
        seen[step.id] = step

    for i, fu in enumerate(spec.followups):
        for key, ref, kinds in (
            ("after", fu.after, ("date", "each")),
            ("at", fu.at, ("time",)),
        ):
            if ref and (ref not in seen or seen[ref].kind not in kinds):
                problems.append(
                    Problem(
                        file=file,
                        line=_line_for(("followups", i, key), lines),
                        message=f"follow-up '{fu.id}': {key} must name a "
                        f"{' or '.join(kinds)} step, not '{ref}'",
                    )
                )
    if spec.plan:
        for key in ("steps", "dates", "outcome", "record"):
            ref = getattr(spec.plan, key)
            if ref and ref not in seen:
                problems.append(
                    Problem(
                        file=file,
                        line=_line_for(("plan", key), lines),
                        message=f"plan.{key} names '{ref}', which is not a step",
                    )
                )
    if spec.team:
        for i, ref in enumerate(spec.team.steps):
            if ref not in seen:
                problems.append(
                    Problem(
                        file=file,
                        line=_line_for(("team", "steps", i), lines),
                        message=f"team.steps names '{ref}', which is not a step",
                    )
                )
    for i, fld in enumerate(spec.report.header):
        if fld.source not in ("date", "topic") and fld.source not in seen:
            problems.append(
                Problem(
                    file=file,
                    line=_line_for(("report", "header", i, "source"), lines),
                    message=f"report header '{fld.label}' reads '{fld.source}', "
                    "which is not date, topic or a step id",
                )
            )
    return problems


def load_text(text: str, *, file: str = "<method>") -> MethodSpec:
    """Parse and validate one method file's text; raise :class:`MethodError` on any fault."""
    lines: dict[Path_, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise MethodError(
            [Problem(file=file, line=line, message=f"not valid YAML: {exc.problem or exc}")]
        ) from None
    if node is None:
        raise MethodError([Problem(file=file, line=1, message="the file is empty")])
    try:
        data = _to_python(node, (), lines)
    except MethodError as exc:
        raise MethodError(
            [Problem(file=file, line=p.line, message=p.message) for p in exc.problems]
        ) from None
    if not isinstance(data, dict):
        raise MethodError([Problem(file=file, line=1, message="a method file is a mapping")])
    try:
        spec = MethodSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key '{loc[-1]}'"
            elif err["type"] == "missing":
                message = f"'{loc[-1]}' is required here"
            problems.append(
                Problem(
                    file=file,
                    line=_line_for(loc, lines),
                    message=f"{_describe(loc)}: {message}" if loc else message,
                )
            )
        raise MethodError(problems) from None
    problems = _cross_check(spec, data, lines, file)
    if problems:
        raise MethodError(problems)
    return spec


def load_file(path: Path) -> MethodSpec:
    """Load one method file from disk."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MethodError(
            [Problem(file=str(path), line=0, message=exc.strerror or str(exc))]
        ) from None
    spec = load_text(text, file=str(path))
    if spec.id != path.stem:
        raise MethodError(
            [
                Problem(
                    file=str(path),
                    line=1,
                    message=f"id '{spec.id}' must match the file name '{path.stem}'",
                )
            ]
        )
    return spec


def check_file(path: Path) -> list[Problem]:
    """Every problem of one file (empty when it is fine): for `breakthrough methods check`."""
    try:
        load_file(path)
    except MethodError as exc:
        return exc.problems
    return []


def builtin_method_files() -> list[Path]:
    """The method files shipped in this package."""
    folder = resources.files("core.methods")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


class MethodLibrary:
    """The methods a bot offers: the built-in ones plus a team's own folder.

    Loaded once at start-up, so a broken file stops the bot with its problem rather than
    surfacing mid-conversation.
    """

    def __init__(self, methods: Iterable[MethodSpec]) -> None:
        self._methods = {m.id: m for m in methods}

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = ()) -> MethodLibrary:
        files = list(builtin_method_files())
        for folder in extra_dirs:
            files.extend(sorted(folder.glob("*.yaml")))
        problems: list[Problem] = []
        methods: list[MethodSpec] = []
        for f in files:
            try:
                methods.append(load_file(f))
            except MethodError as exc:
                problems.extend(exc.problems)
        if problems:
            raise MethodError(problems)
        _log.debug("loaded %d methods", len(methods))
        return cls(methods)

    def get(self, method_id: str) -> MethodSpec:
        try:
            return self._methods[method_id]
        except KeyError:
            known = ", ".join(sorted(self._methods))
            raise MethodError(
                [Problem(file="", line=0, message=f"no method '{method_id}' (known: {known})")]
            ) from None

    def __contains__(self, method_id: object) -> bool:
        return method_id in self._methods

    def __iter__(self) -> Iterator[MethodSpec]:
        return iter(self._methods.values())
