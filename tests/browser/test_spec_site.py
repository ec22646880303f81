"""The living specification in a real headless Chromium: pages load cleanly, links resolve, structure holds.

Why a browser: the site is for people, and only a browser shows what they get -- console errors, broken
anchors, resources a page would fetch. The site is built from the repository's features and catalogue with a
run's verdicts (a statement made by the same code `ota-conformance run` uses). Debian's /usr/bin/chromium and
/usr/bin/chromedriver are driven through Selenium; nothing is downloaded. Without them the tests skip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from harness.reports.features import features_hash
from harness.reports.spec import LivingSpec, build_spec, write_spec
from harness.reports.statement import RunInfo, ScenarioResult, build_statement
from harness.requirements import load_catalogue
from harness.verdicts import Verdict

pytestmark = pytest.mark.xdist_group("browser")

REPO_FEATURES = Path(__file__).resolve().parents[2] / "features"


@dataclass
class Page:
    """What the crawl saw on one page."""

    url: str
    errors: list[str]
    ids: set[str]
    links: list[tuple[str, str]]  # (href as written, URL the browser resolved)
    resources: list[str]
    scripts: int


@dataclass
class Crawl:
    pages: dict[str, Page] = field(default_factory=dict)  # file path -> page


@pytest.fixture(scope="module")
def spec_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[LivingSpec, Path]:
    """The site of the repository's features, with a run in which one scenario failed."""
    first = build_spec(REPO_FEATURES)
    results = [
        ScenarioResult(
            nodeid=f"steps/test_features.py::{s.anchor}",
            feature=s.feature_name,
            scenario=s.name,
            requirement_ids=list(s.requirement_ids),
            tags=list(s.tags),
            verdict=Verdict.FAIL if index == 0 else Verdict.PASS,
            message="expected X, observed Y" if index == 0 else "",
        )
        for index, s in enumerate(first.scenarios)
    ]
    run = RunInfo(
        run_id="browser-run",
        suite_version="0.1.0",
        started_utc="2026-01-01T00:00:00+00:00",
        finished_utc="2026-01-01T00:00:05+00:00",
        features_hash=features_hash(REPO_FEATURES),
        profile_path="profiles/emulated-ppmid.yaml",
        profile={},
        undeclared_pics=[],
        dut={"role": "ppmid"},
        radio="loopback",
        clock="virtual",
    )
    statement = json.loads(json.dumps(build_statement(run, results, load_catalogue())))
    spec = build_spec(REPO_FEATURES, statement=statement)
    out = tmp_path_factory.mktemp("spec-site")
    write_spec(spec, out)
    return spec, out


_PAGE_FACTS = """
return {
  ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
  links: Array.from(document.querySelectorAll('a[href]'), a => [a.getAttribute('href'), a.href]),
  resources: performance.getEntriesByType('resource').map(e => e.name),
  scripts: document.querySelectorAll('script').length,
};
"""


def _file_of(url: str) -> str:
    return unquote(urlparse(url).path)


def crawl_site(browser, index: Path) -> Crawl:
    """Every page reachable from ``index``, visited once, with its console messages, ids and links."""
    result = Crawl()
    queue = [index.as_uri()]
    while queue:
        url = queue.pop()
        path = _file_of(url)
        if path in result.pages or not Path(path).is_file():
            continue
        browser.get(url)
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        facts = browser.execute_script(_PAGE_FACTS)
        links = [(str(a), str(b)) for a, b in facts["links"]]
        page = Page(url, errors, set(facts["ids"]), links, facts["resources"], facts["scripts"])
        result.pages[path] = page
        queue.extend(urldefrag(resolved).url for _, resolved in page.links)
    return result


def broken_links(crawl: Crawl) -> list[str]:
    """Links that are not relative, or lead to no crawled page or to no element of the anchor's id."""
    broken: list[str] = []
    for path, page in crawl.pages.items():
        for written, resolved in page.links:
            if urlparse(written).scheme or written.startswith("/"):
                broken.append(f"{Path(path).name}: {written!r} is not a relative link")
                continue
            target, fragment = urldefrag(resolved)
            landing = crawl.pages.get(_file_of(target))
            if landing is None:
                broken.append(f"{Path(path).name}: {written!r} points to no page")
            elif fragment and unquote(fragment) not in landing.ids:
                broken.append(f"{Path(path).name}: {written!r} points to no element id={fragment!r}")
    return broken


@pytest.fixture(scope="module")
def crawl(browser, spec_site: tuple[LivingSpec, Path]) -> Crawl:
    return crawl_site(browser, spec_site[1] / "index.html")


def test_the_checks_catch_a_broken_page(browser, tmp_path: Path) -> None:
    """The crawl's checks are real: a console error, a missing page and a missing anchor are all caught."""
    (tmp_path / "index.html").write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"><title>t</title></head><body>'
        '<a href="other.html#nowhere">a</a> <a href="missing.html">b</a> <a href="/absolute.html">c</a>'
        '<script>console.error("broken page")</script></body></html>'
    )
    (tmp_path / "other.html").write_text(
        '<!DOCTYPE html><html><head><title>o</title></head><body id="here"></body></html>'
    )
    crawl = crawl_site(browser, tmp_path / "index.html")
    assert any("broken page" in e for e in crawl.pages[str(tmp_path / "index.html")].errors)
    problems = "\n".join(broken_links(crawl))
    assert "'other.html#nowhere' points to no element" in problems
    assert "'missing.html' points to no page" in problems
    assert "'/absolute.html' is not a relative link" in problems


def test_every_page_loads_without_console_errors_or_outside_resources(
    crawl: Crawl, spec_site: tuple[LivingSpec, Path]
) -> None:
    spec, out = spec_site
    written = {str(p) for p in out.glob("*.html")}
    assert set(crawl.pages) == written, "every page is reachable from index.html, and only pages that exist"
    assert len(written) == 2 + len(spec.requirements) + len(spec.features)
    problems = {path: page.errors for path, page in crawl.pages.items() if page.errors}
    assert not problems, f"console errors or warnings: {problems}"
    fetched = {path: page.resources for path, page in crawl.pages.items() if page.resources}
    assert not fetched, f"pages fetched resources (they must be self-contained): {fetched}"
    assert not any(page.scripts for page in crawl.pages.values()), "no page needs JavaScript"


def test_every_link_resolves_to_an_existing_page_and_anchor(crawl: Crawl) -> None:
    broken = broken_links(crawl)
    assert not broken, "broken links:\n" + "\n".join(broken)
    assert sum(len(p.links) for p in crawl.pages.values()) > 500, "the crawl saw the site's links"


def test_index_lists_the_device_groups_and_every_requirement(browser, spec_site: tuple[LivingSpec, Path]) -> None:
    from selenium.webdriver.common.by import By

    spec, out = spec_site
    browser.get((out / "index.html").as_uri())
    headings = {
        role: browser.find_element(By.CSS_SELECTOR, f"#group-{role} h2").text for role in ("ppmid", "hcalcs", "common")
    }
    assert headings["ppmid"] == "PPMID" and headings["hcalcs"] == "HCALCS" and headings["common"].startswith("Common")
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "section[id^=group-] td:first-child a")]
    assert sorted(listed) == sorted(spec.catalogue.ids)
    scope = browser.find_element(By.ID, "scope").text
    assert "Out of scope" in scope and "In-home displays (IHDs)" in scope


def test_matrix_has_one_row_per_requirement_with_its_verdict(browser, spec_site: tuple[LivingSpec, Path]) -> None:
    from selenium.webdriver.common.by import By

    spec, out = spec_site
    browser.get((out / "matrix.html").as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    assert [row.get_attribute("data-requirement") for row in rows] == list(spec.catalogue.ids)
    failed = spec.scenarios[0].requirement_ids[0]
    cells = browser.find_element(By.ID, f"row-{failed}").find_elements(By.TAG_NAME, "td")
    assert cells[-1].text.startswith("FAIL")
    gaps = browser.find_elements(By.CSS_SELECTOR, "#gaps li a")
    assert [a.text for a in gaps] == [r.id for r in spec.gaps]


def test_requirement_page_shows_its_scenarios_steps(browser, spec_site: tuple[LivingSpec, Path]) -> None:
    from selenium.webdriver.common.by import By

    spec, out = spec_site
    requirement = max(spec.requirements, key=lambda r: len(r.scenarios))
    browser.get((out / requirement.page).as_uri())
    assert requirement.requirement.text[:40] in browser.find_element(By.ID, "text").text
    cards = browser.find_elements(By.CSS_SELECTOR, "#scenarios section.scenario")
    assert len(cards) == len(requirement.scenarios)
    first = requirement.scenarios[0]
    shown = [li.text for li in cards[0].find_elements(By.CSS_SELECTOR, "ol.steps > li")]
    expected = [f"{st.keyword} {st.text}" for st in (*first.background, *first.steps)]
    first_lines = [" ".join(text.splitlines()[0].split()) for text in shown]  # a data table follows its step
    assert first_lines == [" ".join(text.split()) for text in expected]
    badges = [b.text for b in cards[0].find_elements(By.CSS_SELECTOR, ".badge")]
    assert f"@req:{requirement.id}" in badges and any(b.startswith("@pics:") for b in badges)
