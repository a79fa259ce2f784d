"""Offline HTML for executed notebooks, with interactive plotly charts that draw without a network.

Notebooks keep plotly's ``plotly_mimetype`` renderer, so executed notebooks stay small and carry
each figure as ``application/vnd.plotly.v1+json``. nbconvert ignores that mimetype, so at export
:class:`PlotlyOfflinePreprocessor` turns each such output into ``text/html`` from
``plotly.io.to_html`` with plotly.js inlined in the first figure of the page only; a raw
pandas table goes through perflab.present.tables (units, magnitudes, no index, no NaN). The
``perflab_offline`` template (lib/perflab/present/templates/) is the lab template without
require.js, MathJax, mermaid and widget scripts, so the page loads nothing from anywhere.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.present.tables import reformat_pandas_html
from perflab.present.theme import humanize_text

__all__ = [
    "PLOTLY_MIMETYPE",
    "TEMPLATE_NAME",
    "TEMPLATES_DIR",
    "PlotlyOfflinePreprocessor",
    "export_many",
    "export_notebook_html",
    "make_exporter",
    "warm_up",
]

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "perflab_offline"
#: the height the notebook renderer gives a figure without one (a 100% height collapses)
DEFAULT_FIGURE_HEIGHT = 525


class PlotlyOfflinePreprocessor(Preprocessor):
    """Replace plotly JSON outputs with self-contained HTML; plotly.js once per notebook
    (or not at all with ``embed_plotlyjs=False``, for a page that loads it once itself)."""

    embed_plotlyjs = Bool(True, help="inline plotly.js before the page's first figure")

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        self._plotlyjs_done = not self.embed_plotlyjs
        self._figures = 0
        nb, resources = super().preprocess(nb, resources)
        resources.setdefault("perflab", {})["plotly_figures"] = self._figures
        return nb, resources

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        if cell.get("cell_type") != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and "text/plain" in data and len(data) == 1:  # a printed value
                text = data["text/plain"]
                text = "".join(text) if isinstance(text, list) else text
                data["text/plain"] = humanize_text(text)
            if data and "text/html" in data and PLOTLY_MIMETYPE not in data:
                html = data["text/html"]
                html = "".join(html) if isinstance(html, list) else html
                table = reformat_pandas_html(html)
                if table is not None:  # a raw DataFrame: shown through perflab's number format
                    data["text/html"] = table
            if not data or PLOTLY_MIMETYPE not in data:
                continue
            output["data"] = {"text/html": self._figure_html(data[PLOTLY_MIMETYPE], index)}
            if "metadata" in output:
                output["metadata"] = {}
        return cell, resources

    def _figure_html(self, fig: Any, cell_index: int) -> str:
        import plotly.io as pio

        if not isinstance(fig, dict):
            raise PerflabError(f"cell {cell_index}: plotly output is not a JSON object")
        fig = copy.deepcopy(dict(fig))
        config = fig.pop("config", None) or None
        try:
            html = pio.to_html(
                fig,
                config=config,
                full_html=False,
                include_plotlyjs=not self._plotlyjs_done,
                include_mathjax=False,
                validate=False,
                default_width="100%",
                default_height=DEFAULT_FIGURE_HEIGHT,
            )
        except Exception as exc:  # a malformed figure: say where, in one line
            raise PerflabError(f"cell {cell_index}: cannot render plotly figure: {exc}") from exc
        self._plotlyjs_done = True
        self._figures += 1
        return html


def make_exporter(*, exclude_input_prompt: bool = True) -> HTMLExporter:
    """An HTMLExporter using the offline template and the plotly preprocessor.

    Building one costs most of the export time; reuse it for several notebooks.
    """
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input_prompt=exclude_input_prompt,
    )
    exporter.register_preprocessor(PlotlyOfflinePreprocessor(), enabled=True)
    return exporter


def _warm_notebook() -> Any:
    """A small executed notebook with one output of each kind a run's pages carry."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    fig = {"data": [{"type": "scatter", "x": [1, 2], "y": [1, 2]}], "layout": {}}
    table = (
        '<table border="1" class="dataframe"><thead><tr><th>a</th></tr></thead>'
        "<tbody><tr><td>1.5</td></tr></tbody></table>"
    )
    outputs = [
        new_output("display_data", data={PLOTLY_MIMETYPE: fig, "text/plain": "Figure"}),
        new_output(
            "execute_result", data={"text/html": table, "text/plain": "a"}, execution_count=1
        ),
        new_output("stream", name="stdout", text="done &amp; said\n"),
    ]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Warm-up\n\n`code` & text\n```sql\nSELECT 1\n```"),
            new_code_cell("import perflab\nx = 1  # a comment", execution_count=1, outputs=outputs),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def warm_up(*exporters: HTMLExporter) -> None:
    """Render a small notebook once with each exporter, output discarded: a process's
    first rendering costs ~0.45 s more than the next (templates compiled, the code lexer's
    regular expressions, BeautifulSoup's entity table, plotly.js read), and a process
    forked after this starts warm (perflab.run.runner makes the pages of 01-05 so)."""
    nb = _warm_notebook()
    for exporter in exporters:
        resources = {"metadata": {"name": "warm-up", "path": "."}}
        exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)


def _export(exporter: HTMLExporter, ipynb: Path, html: Path) -> Path:
    import nbformat

    ipynb, html = Path(ipynb), Path(html)
    try:
        nb = nbformat.read(ipynb, as_version=4)
    except FileNotFoundError as exc:
        raise PerflabError(f"{ipynb}: notebook not found") from exc
    except Exception as exc:
        msg = " ".join(str(exc).split())[:300]
        raise PerflabError(f"{ipynb}: not a readable notebook: {msg}") from exc
    resources = {"metadata": {"name": ipynb.stem, "path": str(ipynb.parent)}}
    try:
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    except PerflabError as exc:
        raise PerflabError(f"{ipynb}: {exc}") from exc
    return atomic_write_text(html, body)


def export_notebook_html(ipynb: Path, html: Path, exporter: HTMLExporter | None = None) -> Path:
    """Export one executed notebook to self-contained offline HTML (written atomically),
    with `exporter` when given (one from `make_exporter`, for several notebooks)."""
    return _export(exporter or make_exporter(), ipynb, html)


def export_many(pairs: Iterable[tuple[Path, Path]]) -> list[Path]:
    """Export several ``(ipynb, html)`` pairs with one exporter; returns the HTML paths."""
    exporter: HTMLExporter | None = None
    out = []
    for ipynb, html in pairs:
        if exporter is None:
            exporter = make_exporter()
        out.append(_export(exporter, ipynb, html))
    return out
