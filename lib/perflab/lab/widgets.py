"""A query box: SQL and parameters in, the plan tree and the timing side by side out.

Faster than editing a cell when trying variants of one query; each press explains and
times on the same read-only connection the run would use.
"""

from __future__ import annotations

import ast
import html
from collections.abc import Sequence

from perflab.errors import PerflabError
from perflab.lab.explore import Target, explain, time_query


def parse_params(text: str) -> tuple:
    """``'pending', 3`` or ``('pending', 3)`` as a tuple of Python literals."""
    text = text.strip()
    if not text:
        return ()
    try:
        value = ast.literal_eval(text if text.startswith(("(", "[")) else f"({text},)")
    except (ValueError, SyntaxError) as exc:
        msg = f"parameters: {text!r} is not a list of Python literals ({exc})"
        raise PerflabError(msg) from None
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def run_box(target: Target, sql: str, params_text: str, iterations: int) -> tuple[str, str]:
    """The two panes' HTML (plan, timing); an error is shown in the first, not raised."""
    try:
        params = parse_params(params_text)
        plan = explain(target, sql, params)
        timing = time_query(target, sql, params, iterations=iterations, count=False)
    except PerflabError as exc:
        return f"<p style='color:#c0392b'>{html.escape(str(exc))}</p>", ""
    return plan._repr_html_(), timing._repr_html_()


def query_box(target: Target, sql: str = "", params: Sequence = (), iterations: int = 300):
    """An ipywidgets box (JupyterLab renders it live): edit, press Run, read both panes."""
    import ipywidgets as w

    sql_in = w.Textarea(value=sql, layout=w.Layout(width="100%", height="6em"))
    params_in = w.Text(value=", ".join(repr(p) for p in params), description="params")
    iters = w.IntSlider(value=iterations, min=50, max=5000, step=50, description="executions")
    button = w.Button(description="Run", button_style="primary")
    plan_out = w.HTML()
    timing_out = w.HTML()

    def on_click(_=None) -> None:
        plan_out.value, timing_out.value = run_box(
            target, sql_in.value, params_in.value, iters.value
        )

    button.on_click(on_click)
    box = w.VBox(
        [
            sql_in,
            w.HBox([params_in, iters, button]),
            w.HBox(
                [plan_out, timing_out],
                layout=w.Layout(width="100%", justify_content="space-between"),
            ),
        ]
    )
    box.run = on_click  # for scripts and tests: press Run without a browser
    if sql:
        on_click()
    return box
