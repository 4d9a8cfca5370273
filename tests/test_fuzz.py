"""Generated input: schemathesis against the live service's OpenAPI schema, hypothesis against the parsers
that read what users and curators write (stored-query parameters, curated YAML sources).

Bounded and deterministic (derandomized, few examples per operation) so that the suite stays fast and a
failure is reproducible; raise the numbers locally to dig deeper.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from pyoxigraph import Literal, NamedNode, Store
from schemathesis import GenerationMode

from kg import paths
from kg.loading import SourceErrors, load_sources
from kg.querylib import PARAM_TYPES, Parameter, QueryError, library
from kg.sourcefile import SourceError, read_source

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))

# --- the HTTP API: no 5xx, no traceback, for anything the schema allows or almost allows --------------

API_EXAMPLES = settings(max_examples=4, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def served_properly(case, response) -> None:  # type: ignore[no-untyped-def]
    body = response.content  # (bytes: some answers are images)
    where = f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: {body[:300]!r}"
    # 503 is the one deliberate 5xx: a query cancelled at its deadline, or every worker busy.
    deliberate = response.status_code == 503 and (b"query cancelled" in body or b"busy" in body)
    assert response.status_code < 500 or deliberate, where
    assert b"Traceback" not in body, where


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_never_fails_on_generated_requests(live_server: str, mode: GenerationMode) -> None:
    """Every operation of /openapi.json, with requests that fit its schema (positive) or break it (negative)."""
    schema = schemathesis.openapi.from_url(live_server + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:

        @API_EXAMPLES
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:  # type: ignore[no-untyped-def]
            served_properly(case, case.call(timeout=30))

        try:
            run()
        except Unsatisfiable:  # no way to break this operation's schema (e.g. it takes no parameters)
            assert mode == GenerationMode.NEGATIVE, operation.label


def test_the_schema_covers_the_routes(live_server: str) -> None:
    """The fuzzing above reaches every route clients use (a route missing from the schema would go untested)."""
    spec = httpx.get(live_server + "/openapi.json").json()
    for path in ("/sparql", "/queries", "/export", "/export/{graph}", "/id/{path}", "/ontology", "/void", "/health"):
        assert path in spec["paths"], path
    assert {f"/queries/{name}" for name in library()} <= set(spec["paths"])


# --- stored-query parameters ------------------------------------------------------------------------

PARAMETERS = [
    Parameter("p", type="string"),
    Parameter("p", type="integer"),
    Parameter("p", type="decimal"),
    Parameter("p", type="iri"),
    Parameter("p", type="enum", allowed=("OS", "RFS", "a b", 'quote"d')),
    Parameter("p", type="string", pattern="[a-z0-9][a-z0-9-]*"),
]
assert {p.type for p in PARAMETERS} == set(PARAM_TYPES)
HOSTILE = st.sampled_from(['" } ; DROP ALL #', "> } SERVICE <http://127.0.0.1:9/> {", "\\u0022", "'''", "\x00", "?x", "\ud7ff", "1e999"])
RAW = st.one_of(st.text(max_size=600), HOSTILE, st.from_regex(r"-?\d{1,20}(\.\d{0,5})?", fullmatch=True), st.just("http://e.org/x y"))


@FAST
@given(parameter=st.sampled_from(PARAMETERS), raw=RAW)
def test_a_parameter_value_is_one_term_or_a_query_error(parameter: Parameter, raw: str) -> None:
    try:
        term = parameter.term(raw)
    except QueryError as exc:
        assert repr(parameter.name) in str(exc)
        return
    assert isinstance(term, (Literal, NamedNode))
    assert term.value == raw  # never rewritten: what the user gave is exactly what is matched
    # Written into a query it stays one term: the query parses and binds exactly that value
    # (numbers in their canonical form: 007 is 7).
    [bound] = [solution["v"] for solution in Store().query(f"SELECT ?v WHERE {{ VALUES ?v {{ {term} }} }}")]
    if parameter.type in ("integer", "decimal"):
        assert Decimal(bound.value) == Decimal(raw)
    else:
        assert bound == term


SEARCH = library()["search"]


@FAST
@given(raw=RAW)
def test_binding_any_text_keeps_a_stored_query_whole(raw: str) -> None:
    try:
        text = SEARCH.bind({"text": raw})
    except QueryError:
        return
    Store().query(text)  # a SyntaxError here would mean the value broke out of its literal


# --- curated sources -------------------------------------------------------------------------------

YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"%@`#?,\n\t  aZ09é\x00\ufeff")), max_size=300)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="kg-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@FAST
@given(data=st.one_of(st.binary(max_size=400), YAMLISH.map(str.encode)))
def test_any_bytes_read_as_a_source_or_one_source_error(scratch: Path, data: bytes) -> None:
    path = scratch / "random.yaml"
    path.write_bytes(data)
    try:
        doc = read_source(path)
    except SourceError as exc:
        assert str(exc).startswith(str(path))
        return
    assert isinstance(doc.data, dict)


REAL = sorted((paths.SOURCES / "review").rglob("*.yaml"))[0]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real curated file with a few random byte edits: structure that is almost right, the hard case."""
    data = bytearray(REAL.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=8)) if edit != "delete" else b""
        end = at if edit == "insert" else at + draw(st.integers(1, 40))
        data[at:end] = chunk
    return bytes(data)


@pytest.fixture(scope="module")
def sources_copy(scratch: Path) -> Path:
    root = scratch / "sources"
    shutil.copytree(paths.SOURCES, root, ignore=shutil.ignore_patterns("*.txt"))
    return root


@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(mutated(), YAMLISH.map(str.encode)))
def test_a_damaged_source_file_is_reported_never_raised(sources_copy: Path, data: bytes) -> None:
    target = sources_copy / REAL.relative_to(paths.SOURCES)
    original = REAL.read_bytes()
    target.write_bytes(data)
    try:
        load_sources(sources_copy)
    except SourceErrors as exc:
        assert exc.errors and all(isinstance(e, SourceError) and e.path for e in exc.errors)
    except SourceError as exc:
        assert exc.path
    finally:
        target.write_bytes(original)
