"""report.html: the whole run in one self-contained file, to send to someone.

The decision and what to do first (from summary.json), then one section per stage built
from the executed notebooks' outputs with their code left out, a navigation sidebar, and
plotly.js inlined once in the page head (each figure adds only its data). Nothing is loaded
from anywhere. The per-notebook pages stay for engineers who want the code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from perflab.errors import PerflabError
from perflab.fsio import atomic_write_text
from perflab.present import pages
from perflab.present.htmlexport import TEMPLATES_DIR, PlotlyOfflinePreprocessor

__all__ = ["Section", "render_report", "render_section", "section_exporter", "write_report"]

SECTION_TEMPLATE = "perflab_section"


@dataclass(frozen=True)
class Section:
    """One stage of the run: its anchor, its title and its outputs' HTML."""

    anchor: str
    title: str
    html: str


def section_exporter() -> Any:
    """An exporter of sections (no code, no prompts, no plotly.js): reuse it."""
    from nbconvert.exporters import HTMLExporter

    exporter = HTMLExporter(
        template_name=SECTION_TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(PlotlyOfflinePreprocessor(embed_plotlyjs=False), enabled=True)
    return exporter


def _title(nb: Any, fallback: str) -> str:
    """The notebook's first Markdown heading ("02 · Latency"), else its name."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#+\s+(.+)$", cell.source, re.MULTILINE)
            if m:
                return m.group(1).strip()
    return fallback


def render_section(path: Path, name: str, exporter: Any = None) -> Section:
    """The section of the executed notebook at ``path``, run under ``name``; `exporter`
    from `section_exporter`, to render several with one."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        raise PerflabError(f"{path}: not a readable notebook: {exc}") from exc
    body, _ = (exporter or section_exporter()).from_notebook_node(
        nb, resources={"metadata": {"name": name, "path": str(path.parent)}}
    )
    anchor = "stage-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return Section(anchor, _title(nb, name), body)


def sections(
    run_dir: Path, summary: Mapping[str, Any], rendered: Mapping[str, Section] | None = None
) -> list[Section]:
    """A section per notebook that ran to the end, in run order; those in `rendered`
    (by notebook name, made by `render_section` while the run went on) are not made again."""
    exporter = None
    out = []
    for nb_rec in summary.get("notebooks") or []:
        if nb_rec.get("status") != "ok" or not nb_rec.get("ipynb"):
            continue
        name = str(nb_rec.get("name", Path(nb_rec["ipynb"]).stem))
        if rendered and name in rendered:
            out.append(rendered[name])
            continue
        exporter = exporter or section_exporter()
        out.append(render_section(Path(run_dir) / nb_rec["ipynb"], name, exporter))
    return out


def render_report(
    run_dir: Path, summary: Mapping[str, Any], rendered: Mapping[str, Section] | None = None
) -> str:
    """report.html's text for the run in ``run_dir`` (its notebooks) and ``summary``."""
    from plotly.offline import get_plotlyjs

    from perflab.results import to_jsonable

    s = to_jsonable(dict(summary))
    secs = sections(Path(run_dir), s, rendered)
    return pages.render(
        "report.html.j2",
        **pages.index_context(s),
        sections=[{"anchor": x.anchor, "title": x.title, "html": Markup(x.html)} for x in secs],
        plotlyjs=Markup(get_plotlyjs()) if secs else "",
    )


def write_report(
    run_dir: Path, summary: Mapping[str, Any], rendered: Mapping[str, Section] | None = None
) -> Path:
    """Write ``run_dir/report.html`` atomically (`rendered`: sections made already)."""
    return atomic_write_text(
        Path(run_dir) / "report.html", render_report(run_dir, summary, rendered)
    )
