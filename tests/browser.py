"""Open report pages in a real headless browser, offline, and record what went wrong.

Test-only (test_html_offline, test_run's page check): it lives beside the tests, not in the
library, so the wheel carries no playwright code.

Uses playwright's Python API to drive the system's Chromium (Debian's ``chromium`` package or
``PERFLAB_CHROMIUM``); no browser is ever downloaded. Each page is opened from ``file://`` in a
context with ``offline=True``: any http(s) request is recorded as external, and any console
error or uncaught page error is recorded too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from perflab.errors import PerflabError

__all__ = ["CHROMIUM_ARGS", "PageCheck", "check_pages", "chromium_path"]

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: the width the pages are read at
VIEWPORT = {"width": 1400, "height": 900}

# Each visible table that scrolls sideways: it, or a box around it, is wider than it shows.
_WIDE_TABLES_JS = """() => {
  const out = [];
  const root = document.scrollingElement;
  if (root.scrollWidth > root.clientWidth + 1) out.push('(the page itself)');
  for (const t of document.querySelectorAll('table')) {
    if (!t.offsetParent) continue;  // inside a closed <details>
    let wide = t.scrollWidth > t.clientWidth + 1;
    for (let e = t.parentElement; e && e !== document.body && !wide; e = e.parentElement) {
      wide = e.scrollWidth > e.clientWidth + 1;
    }
    if (wide) out.push((t.querySelector('th') || t).textContent.trim().slice(0, 40));
  }
  return out;
}"""

# Words a reader must never see in a table, a heading or a headline figure.
_BAD_TEXT_JS = """() => {
  const bad = /\\bNaN\\b|\\bnan\\b|\\bNone\\b|e\\+0/;
  const out = [];
  for (const el of document.querySelectorAll('td, th, h1, h2, h3, .fact b, .outcome')) {
    const t = el.textContent;
    const m = t.match(bad);
    if (m) out.push(t.trim().slice(0, 80));
  }
  return out;
}"""

# Code cells whose source a reader sees (nbconvert's lab markup).
_VISIBLE_CODE_JS = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea')]
  .filter(e => e.offsetParent !== null && e.textContent.trim()).length"""

# Wait until every plotly div has drawn (or the timeout passes, then count what drew).
_CHARTS_DRAWN_JS = """() => {
  const divs = document.querySelectorAll('.plotly-graph-div');
  for (const d of divs) { if (!d.querySelector('.main-svg')) return false; }
  return true;
}"""


@dataclass(frozen=True)
class PageCheck:
    """What one page did in the browser."""

    path: Path
    title: str
    title_loaded: bool
    charts: int
    """Plotly charts drawn (``.js-plotly-plot`` elements)."""
    chart_divs: int
    """Plotly chart containers on the page, drawn or not."""
    main_svgs: int
    console_errors: tuple[str, ...] = ()
    page_errors: tuple[str, ...] = ()
    external_requests: tuple[str, ...] = ()
    load_error: str | None = None
    wide_tables: tuple[str, ...] = ()
    """Tables wider than their box (a horizontal scroll bar), by their first header cell."""
    bad_text: tuple[str, ...] = ()
    """NaN, None, nan or an exponent (e+0) in the text of a table, heading or headline."""
    visible_code: int = 0
    """Code cells whose source is shown."""

    @property
    def ok(self) -> bool:
        """Loaded, titled, every chart drawn, and no errors or external requests."""
        return (
            self.load_error is None
            and self.title_loaded
            and self.charts == self.chart_divs
            and not self.console_errors
            and not self.page_errors
            and not self.external_requests
            and not self.wide_tables
            and not self.bad_text
        )


def chromium_path() -> Path | None:
    """The Chromium executable: $PERFLAB_CHROMIUM, else ``chromium`` on PATH, else None."""
    env = os.environ.get("PERFLAB_CHROMIUM")
    if env:
        p = Path(env)
        return p if p.is_file() and os.access(p, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    default = Path("/usr/bin/chromium")
    return default if default.is_file() and os.access(default, os.X_OK) else None


def check_pages(
    paths: list[Path],
    *,
    timeout_s: float = 30.0,
    executable: Path | None = None,
    screenshots: Path | None = None,
) -> list[PageCheck]:
    """Open each page (a local file) offline in headless Chromium and report on it.

    One browser serves all pages; each page gets a fresh offline context 1400 px wide.
    ``screenshots``: a folder to save one PNG per section of each page into. Raises
    PerflabError when Chromium or playwright is missing or the browser cannot start.
    """
    exe = Path(executable) if executable else chromium_path()
    if exe is None:
        raise PerflabError(
            "Chromium not found: install Debian's chromium package or set PERFLAB_CHROMIUM"
        )
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a pinned dependency
        raise PerflabError("the playwright Python package is not installed") from exc

    timeout_ms = timeout_s * 1000
    results: list[PageCheck] = []
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=str(exe),
                headless=True,  # playwright adds its own headless flag
                args=[a for a in CHROMIUM_ARGS if a != "--headless"],
            )
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise PerflabError(f"{exe}: Chromium did not start: {first}") from exc
        try:
            for path in paths:
                results.append(
                    _check_one(browser, Path(path), timeout_ms, PlaywrightError, screenshots)
                )
        finally:
            browser.close()
    return results


def _check_one(
    browser, path: Path, timeout_ms: float, playwright_error, screenshots: Path | None = None
) -> PageCheck:
    path = path.resolve()
    if not path.is_file():
        return PageCheck(
            path=path,
            title="",
            title_loaded=False,
            charts=0,
            chart_divs=0,
            main_svgs=0,
            load_error="file not found",
        )
    console_errors: list[str] = []
    page_errors: list[str] = []
    external: list[str] = []
    load_error: str | None = None
    title = ""
    charts = chart_divs = main_svgs = code = 0
    wide: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()

    context = browser.new_context(offline=True, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.on(
            "console",
            lambda msg: console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda err: page_errors.append(str(err)))
        page.on(
            "request",
            lambda req: (
                external.append(req.url) if req.url.startswith(("http://", "https://")) else None
            ),
        )
        try:
            page.goto(path.as_uri(), wait_until="load", timeout=timeout_ms)
            # count what drew on timeout; the difference shows in charts vs chart_divs
            with contextlib.suppress(playwright_error):
                page.wait_for_function(_CHARTS_DRAWN_JS, timeout=timeout_ms)
            title = page.title()
            charts = page.locator(".js-plotly-plot").count()
            chart_divs = page.locator(".plotly-graph-div").count()
            main_svgs = page.locator(".main-svg").count()
            wide = tuple(page.evaluate(_WIDE_TABLES_JS))
            bad = tuple(page.evaluate(_BAD_TEXT_JS))
            code = int(page.evaluate(_VISIBLE_CODE_JS))
            if screenshots is not None:
                _screenshots(page, path, Path(screenshots))
        except playwright_error as exc:
            text = str(exc).strip()
            load_error = text.splitlines()[0] if text else repr(exc)
    finally:
        context.close()

    return PageCheck(
        path=path,
        title=title,
        title_loaded=bool(title.strip()),
        charts=charts,
        chart_divs=chart_divs,
        main_svgs=main_svgs,
        console_errors=tuple(console_errors),
        page_errors=tuple(page_errors),
        external_requests=tuple(external),
        load_error=load_error,
        wide_tables=wide,
        bad_text=bad,
        visible_code=code,
    )


def _screenshots(page, path: Path, folder: Path) -> None:
    """One PNG per section of the page (its ``<h2>``/``<section>`` blocks, at most 24), named
    ``<page>-NN-<id>.png``: what a reader sees scrolling through it at 1400 px."""
    folder.mkdir(parents=True, exist_ok=True)
    targets = page.locator("main > h2[id], main > section.stage")
    n = min(targets.count(), 24)
    if n == 0:
        page.screenshot(path=str(folder / f"{path.stem}-00-page.png"))
        return
    for i in range(n):
        el = targets.nth(i)
        el.evaluate("e => e.scrollIntoView({block: 'start'})")
        anchor = el.get_attribute("id") or str(i)
        page.screenshot(path=str(folder / f"{path.stem}-{i:02d}-{anchor}.png"))
