"""The documentation site: built with every warning an error, then every page opened in headless
Chromium (Debian's chromium, as for the report's test in test_reproduce.py).

Checks: the build passes ``-W``; every internal link and anchor resolves and every local resource
(stylesheet, script, image) exists; in the browser every page loads without a JavaScript error
and without a request to the network (the site must work offline: MathJax is served from
``_static``), every image decodes, and every equation is typeset by MathJax (``mjx-container``
elements, no TeX errors), in particular on the model page.

The site is built into a temporary folder; with ``SEGDEND_DOCS_BUILT=1`` the test checks
``docs/_build/html`` as ``make docs`` has just built it instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXTERNAL_SCHEMES = {"http", "https", "ftp", "mailto", "ws", "wss", "tel"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads"}
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


# --------------------------------------------------------------------------------- the site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site: docs/_build/html after ``make docs``, or a fresh build with -W."""
    if os.environ.get("SEGDEND_DOCS_BUILT") == "1":
        html = DOCS / "_build" / "html"
        assert (html / "index.html").is_file(), "SEGDEND_DOCS_BUILT=1, but no site: make docs"
        return html
    try:
        import sphinx  # noqa: F401
    except ImportError:
        pytest.fail("the docs extra is not installed: pip install -e '.[docs]' (make setup does)")
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        capture_output=True, text=True, timeout=3600, cwd=ROOT,
    )
    assert result.returncode == 0, (result.stdout[-3000:] + result.stderr[-6000:])
    return out / "html"


def _pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html")
                  if not SKIP_DIRS.intersection(p.relative_to(html).parts))


class _Page(HTMLParser):
    """Ids (link targets) and references (links, images, scripts, stylesheets) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        for name in ("id", "name") if tag == "a" else ("id",):
            if name in values:
                self.ids.add(values[name])
        url = None
        if tag == "a":
            url = values.get("href")
        elif tag in ("img", "script", "iframe", "source"):
            url = values.get("src")
        elif tag == "link" and values.get("rel") in ("stylesheet", "icon", "preload"):
            url = values.get("href")
        if url:
            self.refs.append((tag, url))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def test_internal_links_and_anchors_resolve(site):
    pages = _pages(site)
    assert (site / "index.html") in pages and len(pages) > 10
    parsed: dict[Path, _Page] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in parsed:
            parsed[path] = _parse(path)
        return parsed[path].ids

    broken: list[str] = []
    checked = 0
    for page in pages:
        for tag, url in _parse(page).refs:
            parts = urlsplit(url)
            if parts.scheme in EXTERNAL_SCHEMES or parts.scheme in ("data", "javascript"):
                continue
            if parts.scheme or parts.netloc:
                broken.append(f"{page.relative_to(site)}: unexpected URL {url}")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            where = f"{page.relative_to(site)}: <{tag}> {url}"
            if not target.is_file():
                broken.append(f"{where}: no such file")
            elif site.resolve() not in target.resolve().parents:
                broken.append(f"{where}: outside the site")
            elif (parts.fragment and target.suffix == ".html"
                  and unquote(parts.fragment) not in ids_of(target)):
                broken.append(f"{where}: no anchor #{parts.fragment}")
    assert checked > 100
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:50])


def test_every_configuration_key_and_command_is_documented(site):
    from pydantic import BaseModel

    from segdend.cli import build_parser
    from segdend.config import Config

    def keys(model: type[BaseModel], prefix: str = "") -> list[str]:
        out = []
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                out += keys(ann, f"{prefix}{name}.")
            else:
                out.append(f"{prefix}{name}")
        return out

    configuration = (site / "configuration.html").read_text(encoding="utf-8")
    missing = [key for key in keys(Config) if key != "preset" and f">{key}<" not in configuration]
    assert not missing, f"keys missing from the preset table: {missing}"
    cli = (site / "cli.html").read_text(encoding="utf-8")
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    assert [name for name in sub.choices if name not in cli] == []
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    import segdend

    assert [name for name in segdend.__all__ if f"segdend.{name}" not in api] == []


# ----------------------------------------------------------- headless Chromium over a pipe


class Chromium:
    """Chromium driven through the DevTools protocol over ``--remote-debugging-pipe``.

    Commands go in on file descriptor 3 and answers come back on 4, as JSON messages ended by
    a NUL byte; only the standard library is needed.
    """

    def __init__(self, browser: str, profile: str):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire() -> None:  # runs in the child before exec: the pipes become fds 3 and 4
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.process = subprocess.Popen(
            [browser, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire, close_fds=False, env={**os.environ, "HOME": profile},
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe: "
                                   + self.process.stderr.read().decode()[-2000:])
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: bool = False,
             timeout: float = 60.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


# Waits for MathJax (if the page loads it) and for every image, then reports what rendered.
INSPECT = """
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });
  const decoded = await Promise.all(images.map(img => img.decode().then(() => true, () => false)));
  return {
    title: document.title,
    images: images.map((img, i) => ({src: img.getAttribute("src"), decoded: decoded[i],
                                     width: img.naturalWidth})),
    math: document.querySelectorAll(".math").length,
    typeset: document.querySelectorAll("mjx-container").length,
    texErrors: document.querySelectorAll("mjx-merror").length,
    mathjax: Boolean(window.MathJax && MathJax.version),
  };
})()
"""


@pytest.fixture(scope="module")
def rendered(site) -> dict[str, dict]:
    """Every page opened in headless Chromium: what it rendered, requested and threw."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is needed (make test installs Debian's chromium)"
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as profile:
        chrome = Chromium(browser, profile)
        try:
            for page in _pages(site):
                name = page.relative_to(site).as_posix()
                chrome.events.clear()
                chrome.call("Page.navigate", {"url": page.resolve().as_uri()}, session=True)
                chrome.wait_for("Page.loadEventFired")
                report = chrome.call(
                    "Runtime.evaluate",
                    {"expression": INSPECT, "awaitPromise": True, "returnByValue": True},
                    session=True,
                )
                if "exceptionDetails" in report:
                    raise AssertionError(f"{name}: {report['exceptionDetails']}")
                result = report["result"]["value"]
                requests = {e["params"]["requestId"]: e["params"]["request"]["url"]
                            for e in chrome.events
                            if e.get("method") == "Network.requestWillBeSent"}
                result["requests"] = list(requests.values())
                result["failed"] = [
                    f"{requests.get(e['params']['requestId'], '?')}: {e['params']['errorText']}"
                    for e in chrome.events if e.get("method") == "Network.loadingFailed"
                ]
                result["exceptions"] = [
                    e["params"]["exceptionDetails"].get("text", "")
                    + " " + str(e["params"]["exceptionDetails"].get("exception", {})
                                .get("description", ""))[:300]
                    for e in chrome.events if e.get("method") == "Runtime.exceptionThrown"
                ]
                results[name] = result
        finally:
            chrome.close()
    return results


def test_every_page_loads_offline_without_errors(rendered):
    assert "index.html" in rendered and "model.html" in rendered
    problems = []
    for name, page in rendered.items():
        if not page["title"]:
            problems.append(f"{name}: no title")
        external = [u for u in page["requests"] if urlsplit(u).scheme not in ("file", "data")]
        problems += [f"{name}: requests the network: {u}" for u in external]
        problems += [f"{name}: failed to load {f}" for f in page["failed"]]
        problems += [f"{name}: JavaScript error {e}" for e in page["exceptions"]]
    assert not problems, "\n".join(problems[:50])


def test_every_image_decodes(rendered):
    bad, count = [], 0
    for name, page in rendered.items():
        for image in page["images"]:
            count += 1
            is_svg = (image["src"] or "").split("?")[0].endswith(".svg")
            if not image["decoded"] or (image["width"] == 0 and not is_svg):
                bad.append(f"{name}: {image['src']}")
    assert not bad, f"{len(bad)} of {count} images do not decode:\n" + "\n".join(bad[:50])


def test_math_is_typeset_by_the_local_mathjax(rendered):
    model = rendered["model.html"]
    assert model["mathjax"], "MathJax did not load on the model page"
    assert model["math"] > 50 and model["typeset"] >= model["math"], model
    for name, page in rendered.items():
        if page["math"]:
            assert page["typeset"] >= page["math"], f"{name}: equations left as TeX"
            assert page["texErrors"] == 0, f"{name}: {page['texErrors']} TeX errors"
