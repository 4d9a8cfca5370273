"""The pages for people, in a real headless Chromium (Debian's `chromium`, driven by Playwright) against a
real uvicorn server: home, forest plots, the stored-query gallery, the SPARQL editor, study pages.

Screenshots of every page go to tests/artifacts/ (look at them: they are what a reader sees).
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kg.querylib import library

playwright_api = pytest.importorskip("playwright.sync_api", reason="`pip install -e .[dev]` installs playwright")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"
PH_NEGATIVE_RR = {"endpoint": "OS", "age_group": "adult", "ph_status": "negative", "setting": "relapsed-refractory"}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` (.ci/system-deps) installs Debian's chromium")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def forest_rows(embedded, **values: str) -> list:  # type: ignore[no-untyped-def]
    """The stored query `forest-plot`'s rows for these filters, straight from the store (not through the service)."""
    text = library()["forest-plot"].bind(values)
    return list(embedded.store.query(text, use_default_graph_as_union=True))


def svg_items(svg: bytes, prefix: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("id"): g for g in root.iter(SVG + "g") if (g.get("id") or "").startswith(prefix)}


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


def test_home_page(page, live_server: str, built_home: Path, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    from kg.release import current

    page.goto(live_server + "/")
    assert page.title().startswith("evidence-kg")
    counts = current(built_home).manifest["counts"]
    totals = dict(zip(page.locator("#totals .what").all_text_contents(), page.locator("#totals .num").all_text_contents(), strict=True))
    assert totals["studies"] == str(counts["studies"]) == "47"
    assert totals["cohorts"] == str(counts["cohorts"])
    assert totals["outcome measurements"] == str(counts["outcome measurements"])
    assert totals["adverse event incidences"] == str(counts["adverse-event incidences"])
    # By kind of evidence, pivotal first; by table, Table 1 first (from the stored queries).
    assert page.locator("#by-evidence-kind tr").nth(1).locator("td").first.inner_text() == "pivotal"
    assert page.locator("#by-table tr").nth(1).locator("td").first.inner_text() == "Table 1"
    for href in ("/forest", "/gallery", "/editor", "/export?format=turtle", "/export/data", "/void"):
        assert page.locator(f'a[href="{href}"]').count() >= 1, href
    assert page.locator('a[href^="/sparql?query="]').count() == 1
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)
    # API clients still get the JSON index at the same URL.
    assert httpx.get(live_server + "/").json()["sparql"] == "/sparql"


def test_forest_plot_adult_os_from_the_form(page, live_server: str, embedded, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(live_server + "/forest")
    assert response is not None and response.status == 200, response and response.text()
    page.select_option('select[name="endpoint"]', "OS")
    page.select_option('select[name="age_group"]', "adult")
    page.click('form.params button[type="submit"]')
    page.wait_for_url("**/forest?*age_group=adult*")
    rows = forest_rows(embedded, endpoint="OS", age_group="adult")
    with_estimate = [r for r in rows if r["estimate"] is not None]
    assert len(rows) > 50 and len(with_estimate) > 40
    plot = page.locator("#forest-plot svg")
    assert plot.locator('g[id^="marker-"]').count() == len(with_estimate)
    assert plot.locator('g[id^="label-"]').count() == len(rows)  # every row is listed, plotted or not
    assert page.locator("#forest-rows tr").count() == len(rows) + 1
    page.screenshot(path=str(artifacts / "forest-adult-os.png"), full_page=True)
    # The same plot as files from a plain URL with the filters as query parameters.
    svg = httpx.get(live_server + "/forest.svg", params={"endpoint": "OS", "age_group": "adult"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert len(svg_items(svg.content, "marker-")) == len(with_estimate)
    png = httpx.get(live_server + "/forest.png", params={"endpoint": "OS", "age_group": "adult"})
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    (artifacts / "forest-adult-os-download.png").write_bytes(png.content)


def test_forest_plot_ph_negative_rr_shows_the_review_cohorts(page, live_server: str, embedded, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    svg = httpx.get(live_server + "/forest.svg", params=PH_NEGATIVE_RR).content
    labels = {k.removeprefix("label-"): text_of(v) for k, v in svg_items(svg, "label-").items()}
    values = {k.removeprefix("value-"): text_of(v) for k, v in svg_items(svg, "value-").items()}
    markers = svg_items(svg, "marker-")
    by_label = {labels[i]: i for i in labels}
    # The review's Table 1: MT-103-211 6.1 (4.2-7.5), TOWER blinatumomab arm 7.7 (5.6-9.6), MT-103-206 9.8 (8.5-14.9) ...
    expected = {
        "MT-103-211: all patients treated with blinatumomab": "6.1 (4.2–7.5)",
        "TOWER: blinatumomab arm (not-censored-at-hsct)": "7.7 (5.6–9.6)",
        "TOWER: blinatumomab arm (censored-at-hsct)": "6.9 (5.3–8.8)",
        "MT-103-206: all patients treated with blinatumomab (not-censored-at-hsct)": "9.8 (8.5–14.9)",
        "Zhou et al.: Chinese patients treated with blinatumomab": "9.2 (6.5–11.7)",
    }
    for label, value in expected.items():
        i = by_label[label]
        assert values[i].startswith(value) and values[i].endswith("95% CI"), (label, values[i])
        assert markers[f"marker-{i}"].find(f".//{SVG}a").get(XLINK).startswith("/id/study/"), label
    assert markers[f"marker-{by_label['MT-103-211: all patients treated with blinatumomab']}"].find(f".//{SVG}a").get(XLINK) == (
        "/id/study/mt-103-211"
    )
    # Upper bound printed NE: the interval runs open to the edge (an arrow head), the lower bound is closed.
    topp = by_label["Topp et al. 2018: patients from MT-103-211 (CR/CRh, blinatumomab followed by…"]
    assert values[topp].startswith("20.2 (7.1–NE)")
    assert f"open-{topp}" in svg_items(svg, "open-")
    # Median not reached: no marker, the value says NR.
    young = by_label["Topp et al. 2018, MT-103-211: patients aged ≤35 years"]
    assert values[young] == "NR" and f"marker-{young}" not in markers
    # Groups by kind of evidence: pivotal first, and within a group by median.
    assert len(labels) == len(forest_rows(embedded, **PH_NEGATIVE_RR))
    pivotal = [values[str(i)] for i in range(4)]
    assert [float(v.split()[0]) for v in pivotal] == sorted(float(v.split()[0]) for v in pivotal)
    # In the browser: the page shows the plot; a click on a point's label opens the study's page with its tables.
    page.goto(live_server + "/forest?" + "&".join(f"{k}={v}" for k, v in PH_NEGATIVE_RR.items()))
    assert page.locator('#forest-plot svg g[id^="marker-"]').count() == len(markers)
    page.screenshot(path=str(artifacts / "forest-adult-os-ph-negative-rr.png"), full_page=True)
    page.locator(f'#forest-plot svg g[id="label-{by_label["MT-103-211: all patients treated with blinatumomab"]}"] a').click()
    page.wait_for_url("**/id/study/mt-103-211")
    assert page.locator("h1").inner_text() == "MT-103-211"
    assert "Topp et al. 2015 (ref 14)" in page.locator("#publications").inner_text()
    assert page.locator('#publications a[href="https://doi.org/10.1016/S1470-2045(14)71170-2"]').count() == 1
    assert page.locator('#external-links a[href="https://www.clinicaltrials.gov/study/NCT01466179"]').count() == 1
    assert "6.1 (4.2–7.5)" in page.locator("#outcomes").inner_text()
    assert page.locator("#cohorts tr").count() >= 2 and page.locator("#adverse-events tr").count() >= 2
    page.screenshot(path=str(artifacts / "study-mt-103-211.png"), full_page=True)


def test_cohort_page(page, live_server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server + "/id/cohort/tower/blinatumomab")
    assert page.locator("h1").inner_text() == "TOWER: blinatumomab arm"
    assert page.locator("#study-link").get_attribute("href") == "/id/study/tower"
    facts = page.locator("#cohort-facts").inner_text()
    assert "271" in facts and "relapsed-refractory" in facts
    outcomes = page.locator("#outcomes").inner_text()
    assert "7.7 (5.6–9.6)" in outcomes and "6.9 (5.3–8.8)" in outcomes
    assert "neutropenia" in page.locator("#adverse-events").inner_text()
    page.screenshot(path=str(artifacts / "cohort-tower-blinatumomab.png"), full_page=True)


def test_forest_plot_bad_filter_is_a_clear_400(live_server: str) -> None:
    r = httpx.get(live_server + "/forest.svg", params={"endpoint": "XYZ"})
    assert r.status_code == 400 and "endpoint" in r.json()["error"]
    r = httpx.get(live_server + "/forest.png", params={"colour": "red"})
    assert r.status_code == 400 and "colour" in r.json()["error"]


def test_gallery_runs_a_stored_query(page, live_server: str, embedded, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server + "/gallery")
    assert page.locator("#query-list tr").count() == len(library()) + 1
    page.click('#query-list a[href="/gallery/responses"]')
    page.select_option('select[name="criterion"]', "CR/CRh")
    page.click('form.params button[type="submit"]')
    page.wait_for_selector("#results")
    expected = list(embedded.store.query(library()["responses"].bind({"criterion": "CR/CRh"}), use_default_graph_as_union=True))
    assert page.locator("#results tr").count() == len(expected) + 1
    assert page.locator("#results th").all_text_contents()[:4] == ["ref", "study", "cohort", "criterion"]
    assert set(page.locator("#results tr td:nth-child(4)").all_text_contents()) == {"CR/CRh"}
    page.screenshot(path=str(artifacts / "gallery-responses.png"), full_page=True)
    csv = httpx.get(live_server + page.locator("#download-csv").get_attribute("href"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == len(expected) + 1


def test_sparql_editor_runs_a_query(page, live_server: str, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live_server + "/editor")
    editor = page.locator(".yasqe .CodeMirror")
    editor.wait_for()
    assert "PREFIX ekg: <https://w3id.org/evidence-kg/ontology#>" in editor.inner_text()  # the project's prefixes, preloaded
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(
        "PREFIX ekg: <https://w3id.org/evidence-kg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?study ?label WHERE { ?study a ekg:Study ; rdfs:label ?label } ORDER BY ?label"
    )
    page.click(".yasqe_queryButton")
    page.wait_for_selector(".yasr table tbody tr")
    assert page.locator(".yasr table tbody tr").count() == 47
    assert "TOWER" in page.locator(".yasr table tbody").inner_text()
    page.screenshot(path=str(artifacts / "editor.png"), full_page=True)
    # Everything came from this server: no CDN.
    assert requests and all(url.startswith(live_server) for url in requests), [u for u in requests if not u.startswith(live_server)]


def test_front_end_assets_are_installed_locally() -> None:
    from service.web import YASGUI

    assert (YASGUI / "yasgui.min.js").is_file(), "run `make install` (npm ci in web/)"
    assert shutil.which("npm") is not None
