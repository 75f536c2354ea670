"""The dashboard in a real headless browser (Debian's chromium through chromium-driver),
against the real server (gunicorn) and real workers, doing what a user does: log in, see a
field error, start a crawl from the form, watch it to the end, check the outcome counts
against the database, the terms chart, the gallery (images read through the API), search,
and cancel a second job. One fixture page is hostile: its title, text, image alt and link
try to run script, and nothing runs. Screenshots of each step go to
test-artifacts/dashboard/ (docs/screenshots/ holds a committed set)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from isidorus.scrapings.models import Image, Page, Scraping
from isidorus.scrapings.selectors import term_totals
from tests.e2e.crawling import ENRICHMENT_ON
from tests.enrichment.helpers import image_bytes
from tests.support.api_server import api_server
from tests.support.site import FixtureSite, Route, html

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
REPO_ROOT = Path(__file__).resolve().parents[2]
SHOTS = REPO_ROOT / "test-artifacts" / "dashboard"
PASSWORD = "a long demo password"
HOSTILE_TITLE = "<script>window.__pwned = 'title'</script> Hostile page"


def _site() -> dict[str, Route]:
    pages = {
        "/": ("Harbour guide", "The harbour guide covers tides, moorings and the lighthouse.",
              ["/tides.html", "/moorings.html", "/lighthouse.html", "/hostile.html"]),
        "/tides.html": ("Tides", "Spring tides rise higher than neap tides in the harbour.", []),
        "/moorings.html": ("Moorings", "Visitor moorings lie east of the harbour wall.", []),
        "/lighthouse.html": ("Lighthouse", "The lighthouse keepers logged every storm.", []),
    }  # fmt: skip
    routes = {
        "/robots.txt": Route(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
        "/img/harbour.png": Route(
            body=image_bytes("PNG", size=(160, 90)), content_type="image/png"
        ),
        "/img/light.png": Route(
            body=image_bytes("PNG", colour=(30, 30, 200), size=(90, 160)), content_type="image/png"
        ),
    }
    for path, (title, text, links) in pages.items():
        anchors = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
        image = '<img src="/img/harbour.png" alt="The harbour at dawn">' if path == "/" else ""
        if path == "/lighthouse.html":
            image = '<img src="/img/light.png" alt="The lighthouse">'
        body = f"<main><h1>{title}</h1><p>{text} {text}</p>{image}<ul>{anchors}</ul></main>"
        routes[path] = Route(body=html(title, body))
    hostile_body = (
        "<main><h1>Hostile</h1><p>&lt;script&gt;window.__pwned = 'text'&lt;/script&gt; This "
        "harbour page tries to run script in every field it has.</p>"
        '<img src="/img/harbour.png" alt="&quot;&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;">'
        "<a href=\"javascript:window.__pwned='link'\">a javascript link</a></main>"
    )
    routes["/hostile.html"] = Route(
        body=html(
            "&lt;script&gt;window.__pwned = 'title'&lt;/script&gt; Hostile page", hostile_body
        )
    )
    return routes


def _slow_site() -> dict[str, Route]:
    links = "".join(f'<a href="/slow/{n}.html">{n}</a>' for n in range(40))
    routes = {"/": Route(body=html("Slow", f"<p>A slow site.</p>{links}"))}
    for n in range(40):
        routes[f"/slow/{n}.html"] = Route(body=html(f"Slow {n}", "<p>slow</p>"), delay=2.0)
    return routes


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium, "make test installs chromium (python3 -m scripts.launcher browser)"
    assert chromedriver, "make test installs chromium-driver (python3 -m scripts.launcher browser)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--disable-domain-reliability",
        # Every name but 127.0.0.1 fails to resolve: the browser never leaves the machine.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: WebDriver, name: str) -> None:
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def _wait(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = 30) -> Any:
    # The pages re-render as they poll, and a submitted form navigates: an element read a
    # moment ago may be gone, or belong to the document being left. Either means "not yet".
    def attempt(d: WebDriver) -> Any:
        try:
            return condition(d)
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return False
            raise

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, 0.2, ignored_exceptions=ignored).until(attempt)


def _text(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def _start_from_form(driver: WebDriver, url: str, depth: int) -> str:
    field = driver.find_element(By.ID, "f-url")
    field.clear()
    field.send_keys(url)
    depth_field = driver.find_element(By.ID, "f-depth")
    depth_field.clear()
    depth_field.send_keys(str(depth))
    driver.find_element(By.ID, "start-submit").click()

    def started_or_refused(d: WebDriver) -> bool:
        errors = d.find_elements(By.CSS_SELECTOR, "#start-form .error")
        return "/dashboard/jobs/" in d.current_url or any(error.text for error in errors)

    _wait(driver, started_or_refused)
    if "/dashboard/jobs/" not in driver.current_url:
        errors = driver.find_elements(By.CSS_SELECTOR, "#start-form .error")
        raise AssertionError(f"the form refused the start: {[e.text for e in errors if e.text]}")
    return str(driver.find_element(By.ID, "job").get_attribute("data-job-id"))


def _outcomes(driver: WebDriver) -> dict[str, int]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#outcomes-body tr")
    return {
        str(row.get_attribute("data-outcome")): int(row.find_element(By.TAG_NAME, "td").text)
        for row in rows
    }


def test_a_user_crawls_watches_searches_and_cancels_in_the_browser(
    browser: WebDriver, start_worker: Any, worker_env: dict[str, str], enrichment_on: Any
) -> None:
    get_user_model().objects.create_user(username="dana", password=PASSWORD)
    start_worker(name="all", concurrency=2, env=ENRICHMENT_ON)
    with (
        FixtureSite(_site()) as site,
        FixtureSite(_slow_site()) as slow,
        api_server({**worker_env, **ENRICHMENT_ON}, workers="1", threads="8") as server,
    ):
        driver = browser
        driver.get(f"{server.origin}/dashboard/")
        _wait(driver, lambda d: "/dashboard/login/" in d.current_url)
        driver.find_element(By.ID, "id_username").send_keys("dana")
        driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
        _shot(driver, "01-login")
        driver.find_element(By.ID, "login-submit").click()
        _wait(driver, lambda d: d.find_elements(By.ID, "start-form"))

        # The API's validation, its message beside the field.
        driver.find_element(By.ID, "f-url").send_keys("ftp://example.com/")
        driver.find_element(By.ID, "start-submit").click()
        url_error = _wait(
            driver, lambda d: d.find_element(By.CSS_SELECTOR, '[data-error-for="url"]').text
        )
        assert "http" in url_error
        _shot(driver, "02-form-error")

        job_id = _start_from_form(driver, site.url("/"), 1)
        _shot(driver, "03-job-running")
        _wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute(
            "data-job-finished") == "true", timeout=90)  # fmt: skip
        assert _text(driver, "job-status") == "COMPLETED"
        bar = driver.find_element(By.ID, "bar-pages")
        assert bar.get_attribute("value") == bar.get_attribute("max")
        pages = Page.objects.filter(scraping_id=job_id)
        fetched = pages.filter(outcome="fetched").count()
        assert fetched == 5
        assert _text(driver, "bar-pages-text") == f"{pages.count()} of {pages.count()}"
        outcomes = _outcomes(driver)
        assert outcomes["fetched"] == fetched
        assert outcomes["failed"] == pages.filter(outcome="failed").count()
        assert outcomes["skipped"] == pages.filter(outcome="skipped").count()
        _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#gallery img"))
        _shot(driver, "04-job-completed")

        job = Scraping.objects.get(pk=job_id)
        top = term_totals(job=job, limit=15)
        chart = driver.find_element(By.ID, "terms-svg")
        drawn = [
            g.get_attribute("data-term") for g in chart.find_elements(By.CSS_SELECTOR, "g.term")
        ]
        assert drawn == [term["term"] for term in top]
        driver.execute_script("arguments[0].scrollIntoView()", chart)
        _shot(driver, "05-terms")

        stored = Image.objects.filter(scraping_id=job_id).exclude(s3_key="")
        assert stored.count() >= 2
        images = driver.find_elements(By.CSS_SELECTOR, "#gallery figure.image img")
        assert len(images) == stored.count()
        loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
        _wait(driver, lambda d: all(d.execute_script(loaded, image) for image in images))
        captions = driver.find_element(By.ID, "gallery").text
        assert "pixels" in captions or "image" in captions.lower()  # offline descriptions
        driver.execute_script(
            "arguments[0].scrollIntoView()", driver.find_element(By.ID, "gallery")
        )
        _shot(driver, "06-gallery")

        summaries = driver.find_elements(By.CSS_SELECTOR, "#pages-body td.summary")
        assert any(cell.text for cell in summaries)
        assert HOSTILE_TITLE in driver.find_element(By.ID, "pages-body").text  # shown as text
        driver.find_element(By.ID, "search-q").send_keys("moorings")
        driver.find_element(By.ID, "search-submit").click()
        _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#pages-body mark"))
        rows = driver.find_elements(By.CSS_SELECTOR, "#pages-body tr.page-row")
        assert rows
        assert all("moorings" in row.text.lower() for row in rows)
        driver.execute_script(
            "arguments[0].scrollIntoView()", driver.find_element(By.ID, "search-form")
        )
        _shot(driver, "07-search")

        # Nothing the hostile page holds ran, and its javascript: link is not a link.
        assert driver.execute_script("return window.__pwned") is None
        hrefs = [a.get_attribute("href") or "" for a in driver.find_elements(By.TAG_NAME, "a")]
        assert not any(href.lower().startswith("javascript:") for href in hrefs)

        driver.get(f"{server.origin}/dashboard/")
        second = _start_from_form(driver, slow.url("/"), 1)
        _wait(driver, lambda d: d.find_element(By.ID, "job-cancel").is_displayed())
        driver.find_element(By.ID, "job-cancel").click()
        _wait(driver, lambda d: _text(d, "job-status") == "CANCELLED", timeout=30)
        _shot(driver, "08-cancelled")
        assert Scraping.objects.get(pk=second).status == "CANCELLED"

        driver.get(f"{server.origin}/dashboard/")
        _wait(
            driver,
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#jobs-body tr[data-job-id]")) == 2,
        )
        _wait(driver, lambda d: f"{pages.count()} of {pages.count()}" in _text(d, "jobs-body"))
        _shot(driver, "09-jobs")
        assert driver.execute_script("return window.__pwned") is None
