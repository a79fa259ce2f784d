"""Trace builders shared by the figure modules: one way to draw grouped bars."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from perflab.present import theme

#: Colours of series that mean nothing by themselves (one per query): plotly's D3 palette.
SERIES = tuple(c.lower() for c in qualitative.D3)


def bars(
    fig: go.Figure,
    groups: Iterable[tuple[Any, pd.DataFrame]],
    category: str,
    value: str,
    *,
    label: Callable[[Any, pd.DataFrame], str] = lambda key, _g: str(key),
    interval: tuple[str, str] | None = None,
    horizontal: bool = False,
    colors: Mapping[Any, str] | None = None,
) -> go.Figure:
    """One bar trace per group, `category` on one axis and `value` on the other; the
    group's [lo, hi] columns named by `interval` become error bars on the value axis."""
    for key, g in groups:
        err = theme.error_bars(g, value, *interval) if interval else None
        fig.add_trace(
            go.Bar(
                x=g[value] if horizontal else g[category],
                y=g[category] if horizontal else g[value],
                name=label(key, g),
                orientation="h" if horizontal else "v",
                error_x=err if horizontal else None,
                error_y=None if horizontal else err,
                marker_color=colors.get(key) if colors else None,
            )
        )
    return fig
