"""The stored-query library: `queries/*.rq`, each with a grlc-style `#+` YAML header.

The folder is the library: nothing lists the queries a second time. Parameters are checked against
their declared type and allowed values, then bound with a `VALUES` block placed at the top of the
query's WHERE clause, so the same text runs on the embedded store and on any SPARQL 1.1 endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pyoxigraph import Literal, NamedNode

from kg import paths
from kg.vocabulary import XSD

PARAM_TYPES = ("string", "integer", "decimal", "iri", "enum")
MAX_PARAM_LENGTH = 500


class QueryError(ValueError):
    """A stored query or its parameters are wrong; the message says which."""


class UnknownQuery(QueryError):
    pass


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "string"
    description: str = ""
    default: str | None = None
    allowed: tuple[str, ...] = ()
    required: bool = False
    example: str | None = None
    pattern: str | None = None

    @property
    def variable(self) -> str:
        return "_" + self.name

    def describe(self) -> str:
        """One line for listings: name:type, default or `required`, allowed values."""
        text = f"{self.name}:{self.type}"
        if self.required:
            text += " (required)"
        elif self.default is not None:
            text += f"={self.default}"
        if self.allowed:
            text += " [" + "|".join(self.allowed) + "]"
        return text

    def term(self, raw: str) -> Literal | NamedNode:
        """Check `raw` against this parameter's type and allowed values and make it an RDF term."""
        if len(raw) > MAX_PARAM_LENGTH:
            raise QueryError(f"parameter {self.name!r}: value longer than {MAX_PARAM_LENGTH} characters")
        if "\x00" in raw:
            raise QueryError(f"parameter {self.name!r}: value contains a NUL character")
        if self.allowed and raw not in self.allowed:
            raise QueryError(f"parameter {self.name!r}: {raw!r} is not one of {', '.join(self.allowed)}")
        if self.pattern and not re.fullmatch(self.pattern, raw):
            raise QueryError(f"parameter {self.name!r}: {raw!r} does not match the pattern {self.pattern}")
        if self.type == "integer":
            if not re.fullmatch(r"-?\d{1,18}", raw):
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not an integer")
            return Literal(raw, datatype=NamedNode(XSD + "integer"))
        if self.type == "decimal":
            try:
                Decimal(raw)
            except InvalidOperation:
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not a decimal number") from None
            if not re.fullmatch(r"-?\d+(\.\d+)?", raw):
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not a plain decimal number")
            return Literal(raw, datatype=NamedNode(XSD + "decimal"))
        if self.type == "iri":
            try:
                return NamedNode(raw)
            except ValueError as exc:
                raise QueryError(f"parameter {self.name!r}: {raw!r} is not an IRI ({exc})") from None
        return Literal(raw)


@dataclass(frozen=True)
class StoredQuery:
    name: str
    path: Path
    text: str
    summary: str
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    columns: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_violation_check(self) -> bool:
        return self.name.endswith("-violation")

    def example_values(self) -> dict[str, str]:
        """Values that make the query runnable: each required parameter's example."""
        return {p.name: p.example for p in self.parameters if p.required and p.example is not None}

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.parameters) or "none"
        raise QueryError(f"query {self.name!r} has no parameter {name!r} (parameters: {known})")

    def bind(self, values: dict[str, str] | None = None) -> str:
        """The query text with its parameters bound in a VALUES block (UNDEF when not given)."""
        values = dict(values or {})
        for name in values:
            self.parameter(name)
        if not self.parameters:
            return self.text
        names, cells = [], []
        for p in self.parameters:
            raw = values.get(p.name, p.default)
            if raw is None or raw == "":
                if p.required:
                    raise QueryError(f"parameter {p.name!r} is required")
                cells.append("UNDEF")
            else:
                cells.append(str(p.term(str(raw))))
            names.append("?" + p.variable)
        block = f"VALUES ({' '.join(names)}) {{ ({' '.join(cells)}) }}"
        at = _where_brace(self.text)
        return self.text[: at + 1] + "\n  " + block + "\n" + self.text[at + 1 :]


def parse_params(items: list[str]) -> dict[str, str]:
    """`key=value` strings (the CLI's repeated --param) -> a dict; the value is everything after the first `=`."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise QueryError(f"parameter {item!r} is not key=value")
        if key in values:
            raise QueryError(f"parameter {key!r} is given twice")
        values[key] = value
    return values


def _where_brace(text: str) -> int:
    """Offset of the outer WHERE clause's opening brace (comment lines are skipped).

    The first `WHERE {` outside comments, else the first brace (`SELECT * { ... }` has no keyword)."""
    code = "".join(" " * len(line) if line.lstrip().startswith("#") else line for line in text.splitlines(keepends=True))
    match = re.search(r"\bWHERE\s*\{", code, flags=re.IGNORECASE)
    at = match.end() - 1 if match else code.find("{")
    if at < 0:
        raise QueryError("query has no WHERE clause to bind parameters into")
    return at


def _header(text: str) -> dict[str, Any]:
    lines = [line[2:] for line in text.splitlines() if line.startswith("#+")]
    if not lines:
        return {}
    meta = yaml.safe_load("\n".join(line[1:] if line.startswith(" ") else line for line in lines))
    return meta if isinstance(meta, dict) else {}


def load_query(path: Path) -> StoredQuery:
    text = path.read_text(encoding="utf-8")
    try:
        meta = _header(text)
    except yaml.YAMLError as exc:
        raise QueryError(f"{path}: bad `#+` header: {exc}") from None
    if "summary" not in meta:
        raise QueryError(f"{path}: the `#+` header needs a summary")
    params = [_parameter(path, name, spec) for name, spec in (meta.get("params") or {}).items()]
    query = StoredQuery(
        name=path.stem,
        path=path,
        text=text,
        summary=str(meta["summary"]),
        description=str(meta.get("description", "")).strip(),
        tags=tuple(meta.get("tags", []) or []),
        parameters=tuple(params),
        columns=tuple(meta.get("columns", []) or []),
        meta=meta,
    )
    if query.parameters:
        _where_brace(text)
    return query


PARAM_KEYS = {"type", "description", "default", "enum", "allowed", "required", "example", "pattern"}


def _parameter(path: Path, name: object, spec: object) -> Parameter:
    """One `params:` entry of a header, checked: a header mistake is reported with the file, not at run time."""
    where = f"{path}: parameter {name!r}"
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name):
        raise QueryError(f"{where}: names are lower-case letters, digits and _")
    spec = spec or {}
    if not isinstance(spec, dict):
        raise QueryError(f"{where}: expected a mapping of type, description, default, enum, example, ...")
    unknown = set(spec) - PARAM_KEYS
    if unknown:
        raise QueryError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    ptype = spec.get("type", "string")
    if ptype not in PARAM_TYPES:
        raise QueryError(f"{where}: unknown type {ptype!r} (one of {', '.join(PARAM_TYPES)})")
    allowed = tuple(str(a) for a in spec.get("enum", spec.get("allowed", [])) or [])
    if ptype == "enum" and not allowed:
        raise QueryError(f"{where}: an enum needs its allowed values (`enum: [...]`)")
    pattern = spec.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise QueryError(f"{where}: bad pattern {pattern!r} ({exc})") from None
    default, example = spec.get("default"), spec.get("example")
    param = Parameter(
        name=name,
        type=ptype,
        description=str(spec.get("description", "")),
        default=None if default is None else str(default),
        allowed=allowed,
        required=bool(spec.get("required", False)),
        example=None if example is None else str(example),
        pattern=None if pattern is None else str(pattern),
    )
    if param.required and param.example is None:
        raise QueryError(f"{where}: a required parameter needs an `example`")
    for what, value in (("default", param.default), ("example", param.example)):
        if value is not None:
            try:
                param.term(value)
            except QueryError as exc:
                raise QueryError(f"{path}: {what} of {exc}") from None
    return param


def library(folder: Path | None = None) -> dict[str, StoredQuery]:
    folder = folder or paths.QUERIES
    return {q.name: q for q in (load_query(p) for p in sorted(folder.glob("*.rq")))}


def get(name: str, folder: Path | None = None) -> StoredQuery:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", name):
        raise UnknownQuery(f"no stored query named {name!r}")
    path = (folder or paths.QUERIES) / f"{name}.rq"
    if not path.is_file():
        raise UnknownQuery(f"no stored query named {name!r} (see `kg queries`)")
    return load_query(path)
