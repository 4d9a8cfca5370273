"""sh:pattern for Oxigraph: Python's regex dialect (what pyshacl runs) spelt for Rust's `regex` (Oxigraph's REGEX).

The pattern is parsed by Python's own parser (`re._parser`) and written back node by node, so both engines
read the same syntax tree. Where the dialects mean different things the translation is stricter than
Python (it never matches a string Python rejects), and kg.shacl_core decides those strings in Python:
Python's `$` also matches before a final newline; `\\d`, `\\s`, `\\w` follow Python's Unicode tables, spelt
out as explicit classes (Rust's differ, e.g. on \\x1c-\\x1f); case-insensitive matching, look-arounds,
back-references and `\\b` are not translated at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from re import _constants as sre  # type: ignore[attr-defined]  # Python's own regex parser: no hand-written one
from re import _parser as sre_parse  # type: ignore[attr-defined]


class _Untranslatable(Exception):
    pass


@cache
def _category(escape: str, flags: int) -> str:
    """The characters Python's `re` matches with `escape` (\\d, \\s, \\w) as a Rust class body: Unicode
    tables differ between the two engines, so the class is spelt out from Python's answer."""
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    codes = sorted({ord(c) for c in re.findall(escape, everything, flags)})
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in ranges)


_CATEGORIES = {
    sre.CATEGORY_DIGIT: ("\\d", False), sre.CATEGORY_NOT_DIGIT: ("\\d", True), sre.CATEGORY_SPACE: ("\\s", False),
    sre.CATEGORY_NOT_SPACE: ("\\s", True), sre.CATEGORY_WORD: ("\\w", False), sre.CATEGORY_NOT_WORD: ("\\w", True),
}  # fmt: skip


def _char(code: int) -> str:
    c = chr(code)
    return c if c.isascii() and c.isalnum() else f"\\x{{{code:X}}}"


def _class_item(op: object, arg: object, flags: int) -> str:
    if op is sre.LITERAL:
        return _char(arg)  # type: ignore[arg-type]
    if op is sre.RANGE:
        lo, hi = arg  # type: ignore[misc]
        return f"{_char(lo)}-{_char(hi)}"
    if op is sre.CATEGORY and arg in _CATEGORIES:
        escape, negated = _CATEGORIES[arg]  # type: ignore[index]
        return f"[{'^' if negated else ''}{_category(escape, flags)}]"
    raise _Untranslatable(str(op))


def _emit(items: Iterable[tuple[object, object]], flags: int) -> str:
    out = []
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(_char(arg))  # type: ignore[arg-type]
        elif op is sre.NOT_LITERAL:
            out.append(f"[^{_char(arg)}]")  # type: ignore[arg-type]
        elif op is sre.ANY:
            out.append(".")  # neither engine matches \n without the s flag
        elif op is sre.IN:
            members = list(arg)  # type: ignore[call-overload]
            negate = bool(members) and members[0][0] is sre.NEGATE
            body = "".join(_class_item(o, a, flags) for o, a in members[int(negate):])
            out.append(f"[{'^' if negate else ''}{body}]")
        elif op is sre.BRANCH:
            out.append("(?:" + "|".join(_emit(b, flags) for b in arg[1]) + ")")  # type: ignore[index]
        elif op is sre.SUBPATTERN:
            _group, add, remove, pattern = arg  # type: ignore[misc]
            if add or remove:
                raise _Untranslatable("local flags")
            out.append("(?:" + _emit(pattern, flags) + ")")
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, pattern = arg  # type: ignore[misc]
            bounds = f"{{{low},}}" if high == sre.MAXREPEAT else f"{{{low},{high}}}"
            out.append("(?:" + _emit(pattern, flags) + ")" + bounds + ("?" if op is sre.MIN_REPEAT else ""))
        elif op is sre.AT and arg in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
            out.append("^" if arg is sre.AT_BEGINNING else "\\A")
        elif op is sre.AT and arg in (sre.AT_END, sre.AT_END_STRING):
            # Python's `$` also matches before a final "\n": Rust's stricter `$` only adds candidates,
            # which the Python check then clears.
            out.append("$" if arg is sre.AT_END else "\\z")
        else:  # back-references, look-arounds, \b: no Rust equivalent with the same meaning
            raise _Untranslatable(str(op))
    return "".join(out)


def rust_regex(pattern: str, flags: int) -> str | None:
    """`pattern` for Oxigraph's REGEX, matching no string Python's `re.search` rejects (None: cannot say).
    It matches the same strings but for one case, a final newline before `$`, which then goes to Python."""
    try:
        parsed = sre_parse.parse(pattern, flags)
        all_flags = parsed.state.flags
        if all_flags & (re.IGNORECASE | re.LOCALE):  # case folding differs between the engines
            return None
        prefix = ("(?m)" if all_flags & re.MULTILINE else "") + ("(?s)" if all_flags & re.DOTALL else "")
        return prefix + _emit(parsed, all_flags & re.ASCII)
    except (re.error, _Untranslatable, RecursionError):
        return None
