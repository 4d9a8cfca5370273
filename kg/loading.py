"""Load a sources folder into one checked `Curation`: every record with the file and line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from kg.curation import (
    AdverseEvent,
    Cohort,
    Comparison,
    Outcome,
    Publication,
    Publications,
    Response,
    SourceFile,
    Study,
    Term,
    Vocabulary,
)
from kg.sourcefile import SourceDocument, SourceError, read_source

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class SourceErrors(ValueError):
    """Several source errors at once, so a curator sees all of them in one run."""

    def __init__(self, errors: list[SourceError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class Located(Generic[T]):
    item: T
    doc: SourceDocument
    loc: tuple[str | int, ...]

    def error(self, message: str, *field_path: str | int) -> SourceError:
        return self.doc.error((*self.loc, *field_path), message)

    @property
    def where(self) -> str:
        return f"{self.doc.path}:{self.doc.line_of(self.loc)}"


@dataclass
class Curation:
    review: Located[Publication]
    references: dict[str, Located[Publication]] = field(default_factory=dict)
    terms: dict[str, Located[Term]] = field(default_factory=dict)
    wordings: dict[str, str] = field(default_factory=dict)
    studies: dict[str, Located[Study]] = field(default_factory=dict)
    cohorts: dict[str, Located[Cohort]] = field(default_factory=dict)
    outcomes: list[Located[Outcome]] = field(default_factory=list)
    responses: list[Located[Response]] = field(default_factory=list)
    adverse_events: list[Located[AdverseEvent]] = field(default_factory=list)
    comparisons: list[Located[Comparison]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _validate(doc: SourceDocument, model: type[M]) -> M:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            field_name = ".".join(str(p) for p in loc) or "(file)"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown field (check its spelling against docs/curation.md)"
            errors.append(doc.error(loc, f"{field_name}: {message}"))
        raise SourceErrors(errors) from None


def _source_files(root: Path) -> tuple[Path, list[Path], list[Path]]:
    if not root.is_dir():
        raise SourceErrors([SourceError(root, None, "sources folder not found")])
    publications = root / "publications.yaml"
    if not publications.is_file():
        raise SourceErrors([SourceError(publications, None, "missing: every sources folder has a publications.yaml")])
    vocabulary = sorted((root / "vocabulary").glob("*.yaml"))
    review = sorted((root / "review").rglob("*.yaml"))
    return publications, vocabulary, review


def load_sources(root: Path) -> Curation:
    """Read and check every source file under `root`; raise SourceErrors naming each problem."""
    publications_path, vocabulary_paths, review_paths = _source_files(root)
    errors: list[SourceError] = []

    def parse(path: Path, model: type[M]) -> tuple[SourceDocument, M] | None:
        try:
            doc = read_source(path)
            return doc, _validate(doc, model)
        except SourceError as exc:
            errors.append(exc)
        except SourceErrors as exc:
            errors.extend(exc.errors)
        return None

    parsed_pubs = parse(publications_path, Publications)
    if parsed_pubs is None:
        raise SourceErrors(errors)
    pub_doc, pubs = parsed_pubs
    curation = Curation(review=Located(pubs.review, pub_doc, ("review",)))
    curation.files.append(publications_path)
    for i, ref in enumerate(pubs.references):
        located = Located(ref, pub_doc, ("references", i))
        if ref.number is None:
            errors.append(located.error("a reference needs its number", "number"))
        elif ref.number in curation.references:
            errors.append(located.error(f"reference {ref.number} is listed twice", "number"))
        else:
            curation.references[ref.number] = located

    def add_terms(doc: SourceDocument, terms: list[Term]) -> None:
        for i, term in enumerate(terms):
            located = Located(term, doc, ("terms", i))
            if term.id in curation.terms:
                errors.append(located.error(f"term {term.id!r} is already defined at {curation.terms[term.id].where}", "id"))
                continue
            curation.terms[term.id] = located
            for wording in term.wordings:
                if wording in curation.wordings and curation.wordings[wording] != term.id:
                    errors.append(located.error(f"wording {wording!r} already belongs to term {curation.wordings[wording]!r}"))
                curation.wordings[wording] = term.id

    for path in vocabulary_paths:
        parsed = parse(path, Vocabulary)
        if parsed:
            curation.files.append(path)
            add_terms(parsed[0], parsed[1].terms)

    files: list[tuple[SourceDocument, SourceFile]] = []
    for path in review_paths:
        parsed = parse(path, SourceFile)
        if parsed:
            curation.files.append(path)
            files.append(parsed)
            add_terms(parsed[0], parsed[1].terms)

    for doc, src in files:
        for i, study in enumerate(src.studies):
            located = Located(study, doc, ("studies", i))
            if study.id in curation.studies:
                errors.append(located.error(f"study {study.id!r} is already defined at {curation.studies[study.id].where}", "id"))
            else:
                curation.studies[study.id] = located
        for i, cohort in enumerate(src.cohorts):
            located = Located(cohort, doc, ("cohorts", i))
            if cohort.id in curation.cohorts:
                errors.append(located.error(f"cohort {cohort.id!r} is already defined at {curation.cohorts[cohort.id].where}", "id"))
            else:
                curation.cohorts[cohort.id] = located
        curation.outcomes += [Located(x, doc, ("outcomes", i)) for i, x in enumerate(src.outcomes)]
        curation.responses += [Located(x, doc, ("responses", i)) for i, x in enumerate(src.responses)]
        curation.adverse_events += [Located(x, doc, ("adverse_events", i)) for i, x in enumerate(src.adverse_events)]
        curation.comparisons += [Located(x, doc, ("comparisons", i)) for i, x in enumerate(src.comparisons)]

    errors += _cross_references(curation)
    if errors:
        raise SourceErrors(errors)
    return curation


def _cross_references(c: Curation) -> list[SourceError]:
    """Every id a record points at must exist; parents must not loop."""
    errors: list[SourceError] = []
    for study in c.studies.values():
        for other in study.item.based_on:
            if other not in c.studies:
                errors.append(study.error(f"based_on names unknown study {other!r}", "based_on"))
        for ref in study.item.reported_in:
            if ref not in c.references:
                errors.append(study.error(f"reported_in names reference {ref} that publications.yaml does not list", "reported_in"))
    for cohort in c.cohorts.values():
        item = cohort.item
        if item.study not in c.studies:
            errors.append(cohort.error(f"study {item.study!r} is not defined in any source file", "study"))
        for other in [item.parent, *item.pooled_from]:
            if other is not None and other not in c.cohorts:
                errors.append(cohort.error(f"names unknown cohort {other!r}", "parent" if other == item.parent else "pooled_from"))
        seen = {item.id}
        parent = item.parent
        while parent is not None and parent in c.cohorts:
            if parent in seen:
                errors.append(cohort.error(f"parent chain loops back to {parent!r}", "parent"))
                break
            seen.add(parent)
            parent = c.cohorts[parent].item.parent
    for group in (c.outcomes, c.responses, c.adverse_events):
        for located in group:
            if located.item.cohort not in c.cohorts:
                errors.append(located.error(f"cohort {located.item.cohort!r} is not defined in any source file", "cohort"))
    for located in [*c.cohorts.values(), *c.outcomes, *c.responses, *c.adverse_events]:
        cohort_id = located.item.id if isinstance(located.item, Cohort) else located.item.cohort
        cohort = c.cohorts.get(cohort_id)
        study = c.studies.get(cohort.item.study) if cohort else None
        if study and not set(located.item.refs) <= set(study.item.reported_in):
            errors.append(located.error(f"refs {located.item.refs} are not among the study's reported_in {study.item.reported_in}", "refs"))
    for located in c.adverse_events:
        if located.item.term not in c.wordings:
            errors.append(
                located.error(f"term {located.item.term!r} is not a known wording; add it to a `terms:` section", "term")
            )
    for located in c.comparisons:
        for i, cohort_id in enumerate(located.item.cohorts):
            if cohort_id not in c.cohorts:
                errors.append(located.error(f"cohort {cohort_id!r} is not defined in any source file", "cohorts", i))
    return errors
