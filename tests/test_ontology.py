"""Tests of the OWL ontology (ontology/evidence-kg.ttl).

(a) it parses with rdflib and declares every ekg: term that docs/model.md names, with the
    datatypes and value lists the doc gives;
(b) owlready2 loads it and HermiT (owlready2's bundled reasoner, run on Java) finds it consistent,
    with no unsatisfiable class;
(c) the reasoner infers membership of the defined classes from the population criteria, and
    refuses data that breaks the model (two age groups, a value of the wrong list, ...).
"""

from __future__ import annotations

import csv
import functools
import re
import shutil
from pathlib import Path

import owlready2
import pytest
import rdflib
from owlready2 import OwlReadyInconsistentOntologyError
from rdflib import OWL, RDF, RDFS, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, SKOS

ROOT = Path(__file__).parents[1]
ONTOLOGY_FILE = ROOT / "ontology" / "evidence-kg.ttl"
MODEL_DOC = ROOT / "docs" / "model.md"
# The shared reference data sits next to the repository (../shared/reference/ from the repo root).
REFERENCE_TSV = ROOT.parent / "shared" / "reference" / "external-identifiers.tsv"
MAPPINGS_DIR = ROOT / "mappings"

# a plain Namespace: rdflib's closed XSD namespace warns when pytest introspects the module
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
EKG = Namespace("https://w3id.org/evidence-kg/ontology#")
EKGID = Namespace("https://w3id.org/evidence-kg/id/")
OBO = "http://purl.obolibrary.org/obo/"
ONTOLOGY_IRI = URIRef("https://w3id.org/evidence-kg/ontology")

# Datatypes model.md gives that are outside the OWL 2 datatype map: HermiT refuses them, so the
# ontology states the nearest OWL 2 DL range instead (and documents why in a skos:scopeNote).
OWL2_RANGE_FOR = {XSD.gYear: RDFS.Literal}

# External terms used in the ontology that are not rows of the shared reference file, each checked
# in the external ontology's own release file.
VERIFIED_OUTSIDE_REFERENCE = {
    OBO + "IAO_0000310": "IAO iao-edit.owl: 'document'",
    OBO + "IAO_0000311": "IAO iao-edit.owl: 'publication'",
    OBO + "IAO_0000027": "STATO stato-reasoned.obo (IAO import): 'data item'",
    OBO + "OBI_0000066": "STATO stato-reasoned.obo (OBI import): 'investigation'",
    OBO + "OBI_0500000": "STATO stato-reasoned.obo (OBI import): 'study design'",
    OBO + "STATO_0000193": "STATO stato-reasoned.obo: 'study group population'",
    OBO + "STATO_0000203": "STATO stato-reasoned.obo: 'cohort'",
    OBO + "STATO_0000039": "STATO stato-reasoned.obo: 'statistic'",
    OBO + "STATO_0000085": "STATO stato-reasoned.obo: 'effect size estimate'",
    OBO + "UO_0000035": "UO uo.obo: 'month'",
    OBO + "UO_0000187": "UO uo.obo: 'percent'",
}

MAPPING_PREDICATES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


@functools.cache
def ontology_graph() -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(ONTOLOGY_FILE, format="turtle")
    return graph


def fresh_ontology_graph() -> rdflib.Graph:
    """A private copy the caller may add triples to."""
    graph = rdflib.Graph()
    for triple in ontology_graph():
        graph.add(triple)
    return graph


def model_doc() -> str:
    return MODEL_DOC.read_text(encoding="utf-8")


def model_terms() -> set[str]:
    """Every `ekg:Name` the model doc mentions (ekgid: IRIs do not match)."""
    return set(re.findall(r"(?<![\w-])ekg:([A-Za-z][A-Za-z0-9_]*)", model_doc()))


def model_datatypes() -> dict[str, URIRef]:
    """`ekg:prop` xsd:type pairs the model doc gives."""
    return {name: XSD[dt] for name, dt in re.findall(r"`ekg:(\w+)`\s+xsd:(\w+)", model_doc())}


def model_value_lists() -> dict[str, list[str]]:
    """`ekg:prop` → [one of] `ekg:A ekg:B ...`: the individuals the doc lists for a property."""
    lists = {}
    pattern = r"`ekg:(\w+)`\s*→\s*(?:one of\s*)?`((?:ekg:\w+\s*)+)`"
    for prop, members in re.findall(pattern, model_doc()):
        lists[prop] = re.findall(r"ekg:(\w+)", members)
    return lists


def rdf_list(graph: rdflib.Graph, head) -> list:
    return list(Collection(graph, head))


def types_of(graph: rdflib.Graph, term: URIRef) -> set:
    return set(graph.objects(term, RDF.type))


def java_executable() -> str:
    java = shutil.which("java") or ("/usr/bin/java" if Path("/usr/bin/java").exists() else None)
    if java is None:
        pytest.fail("Java is needed to run HermiT (owlready2's reasoner); install a JRE (e.g. openjdk-17-jre-headless)")
    return java


def reason(graph: rdflib.Graph, tmp_path: Path, *, ignore_unsupported_datatypes: bool = False) -> owlready2.World:
    """Load `graph` into a fresh owlready2 world (via N-Triples) and run HermiT on it.

    Raises OwlReadyInconsistentOntologyError when HermiT finds the ontology inconsistent.
    """
    owlready2.JAVA_EXE = java_executable()
    path = tmp_path / "ontology.nt"
    graph.serialize(destination=str(path), format="nt", encoding="utf-8")
    world = owlready2.World()
    world.get_ontology(path.as_uri()).load()
    owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0, ignore_unsupported_datatypes=ignore_unsupported_datatypes)
    return world


def inferred_types(world: owlready2.World, iri: URIRef) -> set[str]:
    """IRIs of the named classes the individual belongs to after reasoning (ancestors included)."""
    individual = world[str(iri)]
    assert individual is not None, f"{iri} is not in the reasoned world"
    return {cls.iri for cls in individual.INDIRECT_is_a if hasattr(cls, "iri")}


def with_turtle(turtle: str) -> rdflib.Graph:
    graph = fresh_ontology_graph()
    prefixes = (
        f"@base <{EKGID}> .\n@prefix ekg: <{EKG}> .\n@prefix owl: <{OWL}> .\n"
        f"@prefix xsd: <{XSD}> .\n@prefix rdfs: <{RDFS}> .\n@prefix dcterms: <{DCTERMS}> .\n"
        "@prefix prov: <http://www.w3.org/ns/prov#> .\n"
    )
    graph.parse(data=prefixes + turtle, format="turtle")
    return graph


def reference_verified_iris() -> set[str]:
    """OBO IRIs of the shared reference file's rows marked verified = yes."""
    iris = set()
    with REFERENCE_TSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["verified"].strip() != "yes":
                continue
            for token in re.split(r"[\s/;,]+", row["identifier"]):
                match = re.fullmatch(r"(MONDO|DOID|HP|STATO|OBI|OAE|CHEBI|IAO|UO|NCIT):(\w+)", token)
                if match:
                    iris.add(f"{OBO}{match.group(1)}_{match.group(2)}")
                elif "NCIt" in row["scheme"] and re.fullmatch(r"C\d+", token):
                    iris.add(f"{OBO}NCIT_{token}")
    return iris


def sssom_obo_mappings() -> dict[tuple[str, str], set[str]]:
    """(ekg subject IRI, OBO object IRI) -> predicates, from the SSSOM tables in mappings/."""
    pairs: dict[tuple[str, str], set[str]] = {}
    for path in sorted(MAPPINGS_DIR.glob("*.sssom.tsv")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
        for row in csv.DictReader(lines, delimiter="\t"):
            subject, predicate, obj = row.get("subject_id", ""), row.get("predicate_id", ""), row.get("object_id", "")
            match = re.fullmatch(r"(MONDO|DOID|HP|STATO|OBI|OAE|CHEBI|IAO|UO|NCIT):(\w+)", obj)
            if subject.startswith("ekg:") and predicate.startswith("skos:") and match:
                key = (str(EKG[subject[4:]]), f"{OBO}{match.group(1)}_{match.group(2)}")
                pairs.setdefault(key, set()).add(str(SKOS[predicate[5:]]))
    return pairs


# ----------------------------------------------------------------------------------------------
# (a) the Turtle: header, declarations, datatypes, value lists, alignments
# ----------------------------------------------------------------------------------------------


def test_header() -> None:
    graph = ontology_graph()
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in graph
    assert (ONTOLOGY_IRI, OWL.versionIRI, URIRef("https://w3id.org/evidence-kg/ontology/0.1.0")) in graph
    assert (ONTOLOGY_IRI, OWL.versionInfo, Literal("0.1.0")) in graph
    assert (ONTOLOGY_IRI, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/")) in graph
    assert (ONTOLOGY_IRI, DCTERMS.creator, Literal("evidence-kg contributors")) in graph
    for predicate in (DCTERMS.title, DCTERMS.description, DCTERMS.created):
        assert graph.value(ONTOLOGY_IRI, predicate) is not None, f"header lacks {predicate}"
    assert len(set(graph.subjects(RDF.type, OWL.Ontology))) == 1


def test_declares_every_term_of_the_model_doc() -> None:
    graph = ontology_graph()
    declared_kinds = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual}
    terms = model_terms()
    assert len(terms) > 100, "the regex found too few ekg: terms in docs/model.md"
    missing = sorted(t for t in terms if not types_of(graph, EKG[t]) & declared_kinds)
    assert not missing, f"terms of docs/model.md not declared in the ontology: {missing}"


def test_every_ekg_term_is_documented() -> None:
    graph = ontology_graph()
    undocumented = []
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.NamedIndividual):
        for term in graph.subjects(RDF.type, kind):
            if isinstance(term, URIRef) and term.startswith(str(EKG)):
                if graph.value(term, RDFS.label) is None or graph.value(term, SKOS.definition) is None:
                    undocumented.append(term)
    assert not undocumented, f"terms without rdfs:label or skos:definition: {sorted(undocumented)}"


def test_properties_have_ranges_and_doc_datatypes() -> None:
    graph = ontology_graph()
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty):
        for prop in graph.subjects(RDF.type, kind):
            if prop.startswith(str(EKG)):
                assert graph.value(prop, RDFS.range) is not None, f"{prop} has no rdfs:range"
    datatypes = model_datatypes()
    assert {"patientsTreated", "referenceNumber", "priorAlloHSCT", "percent", "year"} <= datatypes.keys()
    for name, datatype in datatypes.items():
        prop = EKG[name]
        assert (prop, RDF.type, OWL.DatatypeProperty) in graph, f"ekg:{name} should be a datatype property"
        expected = OWL2_RANGE_FOR.get(datatype, datatype)
        assert graph.value(prop, RDFS.range) == expected, f"ekg:{name}: range should be {expected}"


def test_value_lists_of_the_doc_are_individuals_of_the_property_range() -> None:
    graph = ontology_graph()
    lists = model_value_lists()
    assert {"design", "evidenceKind", "ageGroup", "phStatus", "endpoint", "gradeThreshold"} <= lists.keys()
    for prop, members in lists.items():
        range_class = graph.value(EKG[prop], RDFS.range)
        assert isinstance(range_class, URIRef), f"ekg:{prop} needs a named class as range"
        for member in members:
            types = types_of(graph, EKG[member])
            assert OWL.NamedIndividual in types, f"ekg:{member} is not an owl:NamedIndividual"
            assert range_class in types, f"ekg:{member} is not typed with ekg:{prop}'s range {range_class}"


def test_closed_lists_are_one_of_and_all_different() -> None:
    graph = ontology_graph()
    all_different = [set(rdf_list(graph, graph.value(node, OWL.members))) for node in graph.subjects(RDF.type, OWL.AllDifferent)]
    closed = {}
    for cls, equivalent in graph.subject_objects(OWL.equivalentClass):
        one_of = graph.value(equivalent, OWL.oneOf)
        if isinstance(cls, URIRef) and one_of is not None:
            closed[cls] = set(rdf_list(graph, one_of))
    expected_closed = {
        "StudyDesign",
        "EvidenceKind",
        "AgeGroup",
        "PhStatus",
        "DiseaseSetting",
        "SalvageLine",
        "ResponseStatus",
        "RemissionLine",
        "TreatmentPhase",
        "Endpoint",
        "Statistic",
        "IntervalKind",
        "BoundState",
        "Unit",
        "CensoringRule",
        "GradeThreshold",
        "EffectMeasure",
    }
    assert {EKG[name] for name in expected_closed} <= closed.keys()
    for cls, members in closed.items():
        typed = {s for s in graph.subjects(RDF.type, cls) if (s, RDF.type, OWL.NamedIndividual) in graph}
        assert members == typed, f"{cls}: owl:oneOf and the individuals typed with it differ"
        assert members in all_different, f"{cls}: no owl:AllDifferent over exactly its individuals"
    # open lists (more interventions or diseases may come) are not owl:oneOf, but still pairwise different
    interventions = set(graph.subjects(RDF.type, EKG.Intervention))
    assert EKG.Intervention not in closed and EKG.Disease not in closed
    assert {EKG.Blinatumomab, EKG.Chemotherapy, EKG.AlloHSCT} <= interventions and interventions in all_different


def test_endpoint_abbreviations_and_grade_notations() -> None:
    graph = ontology_graph()
    abbreviations = {s: str(o) for s, o in graph.subject_objects(EKG.abbreviation)}
    assert {s for s in graph.subjects(RDF.type, EKG.Endpoint)} == set(abbreviations)
    assert abbreviations[EKG.OS] == "OS" and abbreviations[EKG.RFS] == "RFS" and abbreviations[EKG.DoR] == "DoR"
    notations = {s: str(o) for s, o in graph.subject_objects(EKG.notation)}
    assert notations == {
        EKG.GradeAtLeast3: ">=3",
        EKG.GradeAtLeast2: ">=2",
        EKG.Grade3: "3",
        EKG.Grade4: "4",
        EKG.Grade2: "2",
        EKG.Grade1To2: "1-2",
        EKG.AnyGrade: "any",
    }


def test_skos_notations_are_the_curators_words() -> None:
    """The stored queries print a controlled value's skos:notation, which must be the word the curator
    writes in sources/ (kg.vocabulary maps words to individuals); every closed-list individual has one."""
    graph = ontology_graph()
    for cls in graph.subjects(RDFS.subClassOf, EKG.ControlledValue):
        for individual in graph.subjects(RDF.type, cls):
            if cls not in (EKG.Disease,) and individual not in (EKG.TKI, EKG.AlloHSCT):
                assert len(set(graph.objects(individual, SKOS.notation))) == 1, f"{individual}: one skos:notation"
    assert graph.value(EKG.CI95, SKOS.notation) == Literal("95% CI")
    assert graph.value(EKG.NotReached, SKOS.notation) == Literal("NR")
    pytest.importorskip("pyoxigraph", reason="kg.vocabulary needs pyoxigraph")
    from kg import vocabulary  # the repository root is on sys.path (tests/ is a package)

    notations = {str(s)[len(str(EKG)) :]: str(o) for s, o in graph.subject_objects(SKOS.notation) if s.startswith(str(EKG))}
    expected = dict(vocabulary.NOTATIONS)
    assert {name: notations.get(name) for name in expected} == expected


def test_terms_used_by_queries_and_shapes_are_declared() -> None:
    graph = ontology_graph()
    declared = {str(s)[len(str(EKG)) :] for s in graph.subjects() if isinstance(s, URIRef) and s.startswith(str(EKG))}
    sentinels = {"none"}  # COALESCE(?x, ekg:none) placeholders in some queries: never data
    missing = {}
    for path in [*sorted((ROOT / "queries").glob("*.rq")), *sorted((ROOT / "shapes").glob("*.ttl"))]:
        used = set(re.findall(r"(?<![\w-])ekg:([A-Za-z][A-Za-z0-9_]*)", path.read_text(encoding="utf-8")))
        if used - declared - sentinels:
            missing[path.name] = sorted(used - declared - sentinels)
    assert not missing, f"ekg: terms used but not declared in the ontology: {missing}"


def test_functional_where_single_valued() -> None:
    graph = ontology_graph()
    for name in (
        "cohort",
        "endpoint",
        "statistic",
        "patientsTreated",
        "inStudy",
        "ageGroup",
        "phStatus",
        "diseaseSetting",
        "evidenceKind",
        "design",
        "estimate",
        "lowerBound",
        "upperBound",
    ):
        assert (EKG[name], RDF.type, OWL.FunctionalProperty) in graph, f"ekg:{name} should be functional"
    # a comparison has two compared cohorts, a study several reporting publications
    for name in ("comparedCohort", "reportedIn", "pooledFrom"):
        assert (EKG[name], RDF.type, OWL.FunctionalProperty) not in graph


def test_alignment_to_standard_vocabularies() -> None:
    graph = ontology_graph()
    prov_entity = URIRef("http://www.w3.org/ns/prov#Entity")
    for cls in (EKG.OutcomeMeasurement, EKG.ResponseMeasurement, EKG.AdverseEventIncidence, EKG.Comparison):
        assert prov_entity in set(graph.transitive_objects(cls, RDFS.subClassOf))
    assert (EKG.Study, RDFS.subClassOf, URIRef(OBO + "OBI_0000066")) in graph
    assert (EKG.Review, RDFS.subClassOf, URIRef(OBO + "IAO_0000311")) in graph
    assert (EKG.Median, SKOS.exactMatch, URIRef(OBO + "STATO_0000574")) in graph
    assert (EKG.CI95, SKOS.exactMatch, URIRef(OBO + "STATO_0000231")) in graph
    assert (EKG.OddsRatio, SKOS.exactMatch, URIRef(OBO + "STATO_0000182")) in graph
    assert (EKG.Blinatumomab, SKOS.exactMatch, URIRef(OBO + "NCIT_C62528")) in graph
    assert (EKG.BCellALL, SKOS.exactMatch, URIRef(OBO + "MONDO_0004947")) in graph
    # mapping predicates are annotation properties, so they stay out of the logic (OWL 2 DL)
    for predicate in MAPPING_PREDICATES:
        assert (predicate, RDF.type, OWL.AnnotationProperty) in graph


@pytest.mark.skipif(not REFERENCE_TSV.exists(), reason="../shared/reference/external-identifiers.tsv not present")
def test_external_obo_terms_are_verified() -> None:
    """Every OBO term the ontology maps to or specialises is a verified row of the reference file,
    or one of the few upper-level terms checked in the external ontology's own release."""
    graph = ontology_graph()
    verified = reference_verified_iris()
    assert OBO + "STATO_0000574" in verified and OBO + "NCIT_C62528" in verified
    used = set()
    for predicate in (*MAPPING_PREDICATES, RDFS.subClassOf):
        for obj in graph.objects(None, predicate):
            if isinstance(obj, URIRef) and obj.startswith(OBO):
                used.add(str(obj))
    assert used, "no OBO alignment found"
    unverified = sorted(iri for iri in used if iri not in verified and iri not in VERIFIED_OUTSIDE_REFERENCE)
    assert not unverified, f"external terms not verified: {unverified}"


@pytest.mark.skipif(not any(MAPPINGS_DIR.glob("*.sssom.tsv")), reason="no SSSOM mapping tables in mappings/")
def test_ontology_mappings_agree_with_the_sssom_tables() -> None:
    """The graph's default graph is the union of ontology and mappings: a pair mapped in both must be
    mapped with the same SKOS predicate, or the union would say e.g. exactMatch and closeMatch at once."""
    graph = ontology_graph()
    sssom = sssom_obo_mappings()
    assert sssom, "no ekg: -> OBO rows read from mappings/*.sssom.tsv"
    disagreements = []
    for predicate in MAPPING_PREDICATES:
        for subject, obj in graph.subject_objects(predicate):
            other = sssom.get((str(subject), str(obj)))
            if other is not None and other != {str(predicate)}:
                disagreements.append((subject, predicate, obj, sorted(other)))
    assert not disagreements, f"ontology and mappings/*.sssom.tsv disagree: {disagreements}"


# ----------------------------------------------------------------------------------------------
# (b) owlready2 loads it and HermiT finds it consistent
# ----------------------------------------------------------------------------------------------


def test_owlready2_loads_and_hermit_finds_it_consistent(tmp_path: Path) -> None:
    world = reason(ontology_graph(), tmp_path)  # raises OwlReadyInconsistentOntologyError if not
    for name in ("Cohort", "Study", "AdultPhNegativeRRCohort", "RealWorldEvidenceStudy", "MRDResponderCohort"):
        assert world[str(EKG[name])] is not None, f"owlready2 did not load ekg:{name}"
    assert world[str(EKG.PhNegative)] is not None
    assert list(world.inconsistent_classes()) == [], "unsatisfiable classes"
    # HermiT classified the defined classes (these subsumptions are inferred, not asserted)
    adult_ph_neg = world[str(EKG.AdultPhNegativeRRCohort)]
    ancestors = {cls.iri for cls in adult_ph_neg.ancestors() if hasattr(cls, "iri")}
    assert {str(EKG.AdultCohort), str(EKG.RelapsedRefractoryCohort), str(EKG.Cohort)} <= ancestors
    assert str(EKG.PediatricCohort) not in ancestors


# ----------------------------------------------------------------------------------------------
# (c) the reasoner infers membership of the defined classes
# ----------------------------------------------------------------------------------------------

EXAMPLES = """
<study/test-trial> a owl:NamedIndividual , ekg:Study ;
    ekg:design ekg:RandomisedDesign ; ekg:evidenceKind ekg:Pivotal .
<study/test-rwe> a owl:NamedIndividual , ekg:Study ;
    ekg:design ekg:ObservationalDesign ; ekg:evidenceKind ekg:RealWorld .

<cohort/test-trial/adult-ph-neg-rr> a owl:NamedIndividual , ekg:Cohort ;
    ekg:inStudy <study/test-trial> ;
    ekg:ageGroup ekg:Adult ; ekg:phStatus ekg:PhNegative ; ekg:diseaseSetting ekg:RelapsedRefractory .
<cohort/test-trial/first-salvage> a owl:NamedIndividual , ekg:Cohort ;
    ekg:inStudy <study/test-trial> ; ekg:parentCohort <cohort/test-trial/adult-ph-neg-rr> ;
    ekg:ageGroup ekg:Adult ; ekg:phStatus ekg:PhNegative ; ekg:diseaseSetting ekg:RelapsedRefractory ;
    ekg:salvageLine ekg:FirstSalvage .
<cohort/test-rwe/children> a owl:NamedIndividual , ekg:Cohort ;
    ekg:inStudy <study/test-rwe> ;
    ekg:ageGroup ekg:Pediatric ; ekg:phStatus ekg:PhNegative ; ekg:diseaseSetting ekg:RelapsedRefractory .
<cohort/test-trial/mrd-complete-responders> a owl:NamedIndividual , ekg:Cohort ;
    ekg:inStudy <study/test-trial> ;
    ekg:ageGroup ekg:Adult ; ekg:diseaseSetting ekg:MRDPositive ; ekg:responseStatus ekg:CompleteMRDResponder .
# not typed: the domain of the population properties makes it a cohort
<cohort/test-trial/untyped> a owl:NamedIndividual ;
    ekg:ageGroup ekg:Adult ; ekg:phStatus ekg:PhPositive ; ekg:diseaseSetting ekg:RelapsedRefractory .

<outcome/test-trial/adult-ph-neg-rr/os-rate-12m> a owl:NamedIndividual , ekg:OutcomeMeasurement ;
    ekg:cohort <cohort/test-trial/adult-ph-neg-rr> ;
    ekg:endpoint ekg:OS ; ekg:statistic ekg:Rate ; ekg:timepointMonths 12.0 ;
    ekg:estimate 41.2 ; ekg:estimateText "41.2" ; ekg:unit ekg:Percent .
<adverse-event/test-trial/adult-ph-neg-rr/crs-3> a owl:NamedIndividual , ekg:AdverseEventIncidence ;
    ekg:cohort <cohort/test-trial/adult-ph-neg-rr> ;
    ekg:adverseEventTerm <adverse-event-term/cytokine-release-syndrome> ; ekg:gradeThreshold ekg:Grade3 .
<adverse-event-term/cytokine-release-syndrome> a owl:NamedIndividual , ekg:AdverseEventTerm .
"""


# A slice of the graph as the builder emits it (docs/model.md): TOWER, its arms, a median OS with its
# 95% CI, an adverse-event incidence, a response, a comparison and a conflict.
TOWER_SAMPLE = """
<publication/kantarjian-2023> a owl:NamedIndividual , ekg:Publication , ekg:Review ;
    rdfs:label "Kantarjian et al. 2023 (the review)" ; ekg:year "2023"^^xsd:gYear ;
    dcterms:references <publication/ref-15> .
<publication/ref-15> a owl:NamedIndividual , ekg:Publication ;
    rdfs:label "Kantarjian et al. 2017 (ref 15)" ; ekg:referenceNumber 15 ; ekg:firstAuthor "Kantarjian" ;
    ekg:journal "N Engl J Med" ; ekg:year "2017"^^xsd:gYear ; ekg:volume "376" ; ekg:pages "836-847" .
<study/tower> a owl:NamedIndividual , ekg:Study ;
    rdfs:label "TOWER" ; ekg:studyName "TOWER" ; ekg:protocolCode "MT-103-311" ; ekg:phase "III" ;
    ekg:design ekg:RandomisedDesign ; ekg:evidenceKind ekg:Pivotal ; ekg:reportedIn <publication/ref-15> ;
    ekg:intervention ekg:Blinatumomab ; ekg:reviewTable "Table 1" ; ekg:reviewSection "Pivotal studies" ;
    dcterms:description "MT-103-311 (TOWER), phase III, randomized study" .
<cohort/tower/randomised> a owl:NamedIndividual , ekg:Cohort ;
    ekg:inStudy <study/tower> ; ekg:patientsTreated "271"^^xsd:nonNegativeInteger ;
    ekg:patientsEnrolled "405"^^xsd:nonNegativeInteger ; ekg:disease ekg:BCellALL ;
    ekg:ageGroup ekg:Adult ; ekg:phStatus ekg:PhNegative ; ekg:diseaseSetting ekg:RelapsedRefractory ;
    ekg:sourceLocator "Table 1" ; ekg:quote "405 patients, 271 patients in the blinatumomab arm" ;
    prov:wasDerivedFrom <publication/kantarjian-2023> .
<cohort/tower/blinatumomab> a owl:NamedIndividual , ekg:Cohort ;
    ekg:inStudy <study/tower> ; ekg:parentCohort <cohort/tower/randomised> ;
    ekg:patientsTreated "271"^^xsd:nonNegativeInteger ; ekg:arm ekg:Blinatumomab ; ekg:disease ekg:BCellALL ;
    ekg:ageGroup ekg:Adult ; ekg:phStatus ekg:PhNegative ; ekg:diseaseSetting ekg:RelapsedRefractory .
<cohort/tower/chemotherapy> a owl:NamedIndividual , ekg:Cohort ;
    ekg:inStudy <study/tower> ; ekg:parentCohort <cohort/tower/randomised> ;
    ekg:patientsEnrolled "124"^^xsd:nonNegativeInteger ; ekg:arm ekg:Chemotherapy ;
    ekg:ageGroup ekg:Adult ; ekg:phStatus ekg:PhNegative ; ekg:diseaseSetting ekg:RelapsedRefractory ;
    ekg:printedInconsistency "271 + 124 = 395, not 405" .
<outcome/tower/blinatumomab/os-median-not-censored-at-hsct> a owl:NamedIndividual , ekg:OutcomeMeasurement ;
    ekg:cohort <cohort/tower/blinatumomab> ; ekg:endpoint ekg:OS ; ekg:statistic ekg:Median ;
    ekg:estimate 7.7 ; ekg:estimateText "7.7" ; ekg:intervalKind ekg:CI95 ;
    ekg:lowerBound 5.6 ; ekg:lowerBoundText "5.6" ; ekg:upperBound 9.6 ; ekg:upperBoundText "9.6" ;
    ekg:unit ekg:Months ; ekg:censoring ekg:NotCensoredAtHSCT ;
    ekg:sourceLocator "Table 1" ; ekg:quote "7.7 (5.6–9.6)" ; ekg:fromText false ;
    prov:wasDerivedFrom <publication/kantarjian-2023> ; ekg:reportedBy <publication/ref-15> ; ekg:referenceList "15" .
<outcome/tower/blinatumomab/os-median-text> a owl:NamedIndividual , ekg:OutcomeMeasurement ;
    ekg:cohort <cohort/tower/blinatumomab> ; ekg:endpoint ekg:OS ; ekg:statistic ekg:Median ;
    ekg:estimate 7.7 ; ekg:estimateText "7.7" ; ekg:intervalKind ekg:CI95 ;
    ekg:lowerBound 5.6 ; ekg:lowerBoundText "5.6" ; ekg:upperBoundState ekg:NotReported ; ekg:unit ekg:Months ;
    ekg:sourceLocator "Text: Adults with R/R Ph-negative B-cell ALL / Pivotal studies" ; ekg:fromText true .
<outcome/tower/blinatumomab/rfs-median> a owl:NamedIndividual , ekg:OutcomeMeasurement ;
    ekg:cohort <cohort/tower/blinatumomab> ; ekg:endpoint ekg:RFS ; ekg:statistic ekg:Median ;
    ekg:estimateState ekg:NotReported ; ekg:unit ekg:Months .
<response/tower/blinatumomab/cr-crh-cri> a owl:NamedIndividual , ekg:ResponseMeasurement ;
    ekg:cohort <cohort/tower/blinatumomab> ; ekg:responseCriterion "CR/CRh/CRi" ;
    ekg:responders "119"^^xsd:nonNegativeInteger ; ekg:denominator "271"^^xsd:nonNegativeInteger ;
    ekg:percent 43.9 ; ekg:percentText "43.9" ; ekg:responseDefinition "within 12 weeks" .
<adverse-event-term/neutropenia> a owl:NamedIndividual , ekg:AdverseEventTerm ; rdfs:label "neutropenia" .
<adverse-event/tower/blinatumomab/neutropenia-grade-3-or-higher> a owl:NamedIndividual , ekg:AdverseEventIncidence ;
    ekg:cohort <cohort/tower/blinatumomab> ; ekg:adverseEventTerm <adverse-event-term/neutropenia> ;
    ekg:termAsPrinted "neutropenia" ; ekg:gradeThreshold ekg:GradeAtLeast3 ; ekg:percent 37.8 ; ekg:percentText "37.8" ;
    ekg:countState ekg:NotReported .
<comparison/tower/blinatumomab--vs--chemotherapy/os-none> a owl:NamedIndividual , ekg:Comparison ;
    ekg:comparedCohort <cohort/tower/blinatumomab> , <cohort/tower/chemotherapy> ;
    ekg:firstCohort <cohort/tower/blinatumomab> ; ekg:secondCohort <cohort/tower/chemotherapy> ;
    ekg:endpoint ekg:OS ; ekg:pValue 0.01 ; ekg:pValueText "0.01" ; ekg:pValueRelation "=" .
<comparison/tower/blinatumomab--vs--chemotherapy/cr-crh-cri-none> a owl:NamedIndividual , ekg:Comparison ;
    ekg:firstCohort <cohort/tower/blinatumomab> ; ekg:secondCohort <cohort/tower/chemotherapy> ;
    ekg:responseCriterion "CR/CRh/CRi" ; ekg:pValue 0.001 ; ekg:pValueText "0.001" ; ekg:pValueRelation "<" .
<conflict/outcome/tower/blinatumomab/os-median-not-censored-at-hsct--text> a owl:NamedIndividual , ekg:Conflict ;
    ekg:conflictingValue <outcome/tower/blinatumomab/os-median-not-censored-at-hsct> ,
                         <outcome/tower/blinatumomab/os-median-text> ;
    ekg:conflictAspect "interval" .
"""


@pytest.fixture(scope="module")
def examples_world(tmp_path_factory: pytest.TempPathFactory) -> owlready2.World:
    """The ontology plus the examples above and the builder-shaped TOWER slice below, reasoned once.

    ekg:year values are xsd:gYear (docs/model.md), a datatype outside the OWL 2 datatype map, so HermiT
    is told to treat such literals as opaque."""
    graph = with_turtle(EXAMPLES + TOWER_SAMPLE)
    return reason(graph, tmp_path_factory.mktemp("examples"), ignore_unsupported_datatypes=True)


def test_adult_ph_negative_rr_cohort_is_inferred(examples_world: owlready2.World) -> None:
    types = inferred_types(examples_world, EKGID["cohort/test-trial/adult-ph-neg-rr"])
    assert {str(EKG.AdultPhNegativeRRCohort), str(EKG.AdultCohort), str(EKG.RelapsedRefractoryCohort)} <= types
    assert not {str(EKG.PediatricCohort), str(EKG.AdultPhPositiveRRCohort), str(EKG.MRDPositiveCohort)} & types


def test_pediatric_cohort_is_pediatric_not_adult(examples_world: owlready2.World) -> None:
    types = inferred_types(examples_world, EKGID["cohort/test-rwe/children"])
    assert str(EKG.PediatricCohort) in types
    assert str(EKG.AdultCohort) not in types
    assert str(EKG.AdultPhNegativeRRCohort) not in types


def test_real_world_study_is_inferred(examples_world: owlready2.World) -> None:
    rwe = inferred_types(examples_world, EKGID["study/test-rwe"])
    assert str(EKG.RealWorldEvidenceStudy) in rwe
    assert not {str(EKG.PivotalStudy), str(EKG.RandomisedStudy)} & rwe
    trial = inferred_types(examples_world, EKGID["study/test-trial"])
    assert {str(EKG.PivotalStudy), str(EKG.RandomisedStudy)} <= trial
    assert str(EKG.RealWorldEvidenceStudy) not in trial


def test_salvage_and_mrd_cohorts_are_inferred(examples_world: owlready2.World) -> None:
    first = inferred_types(examples_world, EKGID["cohort/test-trial/first-salvage"])
    assert {str(EKG.FirstSalvageCohort), str(EKG.AdultPhNegativeRRCohort)} <= first
    assert str(EKG.SecondOrLaterSalvageCohort) not in first
    mrd = inferred_types(examples_world, EKGID["cohort/test-trial/mrd-complete-responders"])
    # a complete MRD responder is an MRD responder
    assert {str(EKG.MRDPositiveCohort), str(EKG.MRDResponderCohort), str(EKG.AdultCohort)} <= mrd
    assert str(EKG.RelapsedRefractoryCohort) not in mrd


def test_untyped_node_with_population_criteria_is_classified(examples_world: owlready2.World) -> None:
    types = inferred_types(examples_world, EKGID["cohort/test-trial/untyped"])
    assert {str(EKG.Cohort), str(EKG.AdultPhPositiveRRCohort)} <= types


def test_measurement_classes_are_inferred(examples_world: owlready2.World) -> None:
    outcome = inferred_types(examples_world, EKGID["outcome/test-trial/adult-ph-neg-rr/os-rate-12m"])
    assert {str(EKG.OverallSurvivalMeasurement), str(EKG.SurvivalAtTimepointMeasurement)} <= outcome
    assert "http://www.w3.org/ns/prov#Entity" in outcome
    incidence = inferred_types(examples_world, EKGID["adverse-event/test-trial/adult-ph-neg-rr/crs-3"])
    assert str(EKG.HighGradeAdverseEventIncidence) in incidence


INCONSISTENT = {
    "two age groups (ageGroup is functional, Adult and Pediatric are different)": """
        <cohort/x/c> a owl:NamedIndividual , ekg:Cohort ; ekg:ageGroup ekg:Adult , ekg:Pediatric .
    """,
    "a Ph status as age group (range and disjoint value lists)": """
        <cohort/x/c> a owl:NamedIndividual , ekg:Cohort ; ekg:ageGroup ekg:PhNegative .
    """,
    "a real-world study asserted pivotal": """
        <study/x> a owl:NamedIndividual , ekg:Study , ekg:PivotalStudy ; ekg:evidenceKind ekg:RealWorld .
    """,
    "a response criterion outside the closed list": """
        <response/x/c/cr-crx> a owl:NamedIndividual , ekg:ResponseMeasurement ; ekg:responseCriterion "CR/CRx" .
    """,
    "an estimate that is both a number and a state": """
        <outcome/x/c/os-median> a owl:NamedIndividual , ekg:OutcomeMeasurement ;
            ekg:estimate 7.7 ; ekg:estimateState ekg:NotReached .
    """,
}


@pytest.mark.parametrize("turtle", INCONSISTENT.values(), ids=list(INCONSISTENT))
def test_reasoner_refuses_data_that_breaks_the_model(turtle: str, tmp_path: Path) -> None:
    with pytest.raises(OwlReadyInconsistentOntologyError):
        reason(with_turtle(turtle), tmp_path)


def test_builder_shaped_data_is_consistent_and_classified(examples_world: owlready2.World) -> None:
    assert {str(EKG.PivotalStudy), str(EKG.RandomisedStudy)} <= inferred_types(examples_world, EKGID["study/tower"])
    arm = inferred_types(examples_world, EKGID["cohort/tower/blinatumomab"])
    assert {str(EKG.AdultPhNegativeRRCohort), str(EKG.RelapsedRefractoryCohort)} <= arm
    os_median = inferred_types(examples_world, EKGID["outcome/tower/blinatumomab/os-median-not-censored-at-hsct"])
    assert str(EKG.OverallSurvivalMeasurement) in os_median
    assert str(EKG.SurvivalAtTimepointMeasurement) not in os_median
    # the review is a publication in IAO's sense and a PROV entity
    review = inferred_types(examples_world, EKGID["publication/kantarjian-2023"])
    assert {OBO + "IAO_0000311", "http://www.w3.org/ns/prov#Entity"} <= review
