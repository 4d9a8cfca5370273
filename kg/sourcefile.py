"""Read a curated YAML file as plain strings, remembering the line of every value.

Curated numbers must keep the digits the review printed (43.0 is not 43), so every scalar is read
as a string; the line map lets any later error name the file and line a curator has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class SourceError(ValueError):
    """A curated source file is wrong; the message names the file and line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class SourceDocument:
    path: Path
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, loc: Path_) -> int | None:
        """The line of the value at `loc`, or of its nearest enclosing value."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def error(self, loc: Path_, message: str) -> SourceError:
        return SourceError(self.path, self.line_of(loc), message)


def _plain(node: yaml.Node, loc: Path_, lines: dict[Path_, int], path: Path) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        # A plain scalar has style None in PyYAML's Python parser and "" in its libyaml (C) parser.
        if node.tag == "tag:yaml.org,2002:null" or (not node.style and node.value in ("", "~", "null")):
            return None
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(child, (*loc, i), lines, path) for i, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(path, key_node.start_mark.line + 1, "mapping keys must be plain words")
            key = key_node.value
            if key in out:
                raise SourceError(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = _plain(value_node, (*loc, key), lines, path)
        return out
    raise SourceError(path, node.start_mark.line + 1, "unsupported YAML node")  # pragma: no cover


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        if _LOADER is yaml.BaseLoader:
            raise
    # Bad YAML: let the Python parser word the error, as it always has (its messages name the token it expected).
    return yaml.compose(text, Loader=yaml.BaseLoader)


def read_source(path: Path) -> SourceDocument:
    """Parse one YAML source file into strings, lists and dicts, with a line map."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise SourceError(path, line, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SourceError(path, None, f"cannot read file: {exc.strerror}") from None
    try:
        # BaseLoader resolves no tags: aliases and anchors still work, but nothing becomes a float.
        # The libyaml parser keeps the same marks and is ~10x faster (it matters for big synthetic folders).
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SourceError(path, line, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, most control characters)
        line = text[: exc.position].count("\n") + 1
        raise SourceError(path, line, f"character U+{exc.character:04X} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise SourceError(path, None, f"YAML error: {exc}") from None
    lines: dict[Path_, int] = {}
    data = _plain(node, (), lines, path) if node is not None else {}
    if not isinstance(data, dict):
        raise SourceError(path, 1, "a source file must be a mapping of sections")
    return SourceDocument(path=path, data=data, lines=lines)
