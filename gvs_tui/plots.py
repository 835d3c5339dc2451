"""The report's plots as PNG bytes: a heatmap of group × (model, locale), bars with interval error
bars, and a Schwartz value radar.

matplotlib is imported inside the functions (Agg canvas, no pyplot state), so importing this module
costs nothing. Labels are untrusted text: control characters are made visible, mathtext is off, and
a label the available fonts cannot draw (CJK without a CJK font installed) is replaced by a short key
that :class:`Labeller` records for the caption, instead of drawing boxes or warning per glyph.
Output is deterministic: the same data give the same PNG bytes (no date or software in the file).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .safe_text import clean

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# Families that cover CJK, looked for among the installed fonts; the first found is a fallback after DejaVu Sans.
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Arial Unicode MS",
)
_MAX_LABEL = 42

# Every series of a chart gets its own colour (Okabe–Ito: told apart with the common colour-vision
# deficiencies) and, for print and for more series than colours, its own hatch, marker and line style.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "++", "--")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class SeriesStyle:
    colour: str
    hatch: str
    marker: str
    linestyle: str


def series_styles(count: int) -> list[SeriesStyle]:
    """``count`` styles, no two alike: colours first, then (past 8 series) the hatch and marker differ too."""
    styles = []
    for i in range(count):
        shift = i // len(PALETTE)
        styles.append(
            SeriesStyle(
                PALETTE[i % len(PALETTE)],
                HATCHES[(i + shift) % len(HATCHES)],
                MARKERS[(i + shift) % len(MARKERS)],
                LINESTYLES[(i + shift) % len(LINESTYLES)],
            )
        )
    return styles


@lru_cache(maxsize=1)
def _fonts() -> tuple[list[str], frozenset[int]]:
    """Font families to use and the code points they can draw between them."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    installed = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    families = ["DejaVu Sans"] + [name for name in _CJK_FAMILIES if name in installed][:1]
    covered: set[int] = set()
    for family in families:
        path = installed.get(family) or font_manager.findfont(family, fallback_to_default=True)
        try:
            covered.update(FT2Font(path).get_charmap())
        except Exception:  # an unreadable font file: its family simply covers nothing
            continue
    return families, frozenset(covered)


class Labeller:
    """Plot labels for untrusted names: cleaned, shortened, and keyed (``#1``) when a font cannot draw them."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}  # key -> the full name it stands for

    def __call__(self, name: str) -> str:
        text = " ".join(clean(name).split())
        _, covered = _fonts()
        if any(ord(ch) not in covered for ch in text if not ch.isspace()):
            for key, full in self.keys.items():
                if full == name:
                    return key
            key = f"#{len(self.keys) + 1}"
            self.keys[key] = name
            return key
        return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _render(draw, size: tuple[float, float]) -> bytes:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    families, _ = _fonts()
    style: dict[RcKeyType, Any] = {
        "text.parse_math": False,  # a "$" in a category name is text, not TeX
        "text.usetex": False,
        "font.family": families,
        "font.size": 9,
        "axes.titlesize": 10,
        "svg.hashsalt": "gvs",
    }
    with matplotlib.rc_context(style), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        fig = Figure(figsize=size, dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    vmin: float,
    vmax: float,
    fmt: str,
    higher_is_better: bool | None,
) -> bytes:
    """``values[r][c]`` coloured between vmin and vmax, each cell annotated with ``fmt``; None shows grey."""
    import numpy as np

    data = np.array([[_nan(v) for v in row] for row in values], dtype=float).reshape(len(rows), len(columns))
    cmap_name = {True: "RdYlGn", False: "RdYlGn_r", None: "viridis"}[higher_is_better]

    def draw(fig) -> None:
        import matplotlib

        cmap = matplotlib.colormaps[cmap_name].with_extremes(bad="#dddddd")
        ax = fig.add_subplot()
        image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_xticks(range(len(columns)), list(columns), rotation=30, ha="right")
        ax.set_yticks(range(len(rows)), list(rows))
        ax.set_title(title, loc="left")
        for r in range(len(rows)):
            for c in range(len(columns)):
                v = data[r, c]
                if math.isnan(v):
                    ax.text(c, r, "–", ha="center", va="center", color="#555555")
                    continue
                red, green, blue, _ = cmap((v - vmin) / (vmax - vmin) if vmax > vmin else 0.5)
                dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                ax.text(c, r, fmt.format(v), ha="center", va="center", color="white" if dark else "black")
        fig.colorbar(image, ax=ax, shrink=0.8)

    width = 3.5 + 1.2 * max(2, len(columns))
    height = 1.8 + 0.42 * max(2, len(rows))
    return _render(draw, (min(width, 18), min(height, 30)))


def interval_bars(
    groups: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[tuple[float | None, float | None, float | None]]],
    *,
    title: str,
    ylabel: str,
    ylim: tuple[float, float],
) -> bytes:
    """Grouped bars: ``values[s][g]`` = (value, low, high) of series ``s`` (a model) in group ``g`` (a locale).

    Each series has its own colour and hatch (:func:`series_styles`); a series without any value is
    still in the legend, marked "no data", so that no two series can be mistaken for each other."""
    styles = series_styles(len(series))

    def draw(fig) -> None:
        from matplotlib.patches import Patch

        ax = fig.add_subplot()
        count = max(1, len(series))
        width = 0.8 / count
        handles = []
        for s, name in enumerate(series):
            style = styles[s]
            xs, heights, below, above = [], [], [], []
            for g in range(len(groups)):
                value, low, high = values[s][g]
                if value is None:
                    continue
                xs.append(g - 0.4 + width * (s + 0.5))
                heights.append(value)
                below.append(max(0.0, value - low) if low is not None else 0.0)
                above.append(max(0.0, high - value) if high is not None else 0.0)
            if xs:
                ax.bar(
                    xs,
                    heights,
                    width * 0.9,
                    yerr=[below, above],
                    capsize=3,
                    label=name,
                    color=style.colour,
                    hatch=style.hatch,
                    edgecolor="#333333",
                    linewidth=0.6,
                    error_kw={"ecolor": "#333333"},
                )
            handles.append(
                Patch(
                    facecolor=style.colour,
                    hatch=style.hatch,
                    edgecolor="#333333",
                    label=name if xs else f"{name} (no data)",
                )
            )
        ax.set_xticks(range(len(groups)), list(groups))
        ax.set_ylim(*ylim)
        ax.set_ylabel(ylabel)
        ax.set_title(title, loc="left")
        ax.grid(axis="y", alpha=0.3)
        if handles:
            ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    return _render(draw, (min(4.5 + 1.1 * len(groups) * max(1, len(series)) ** 0.5, 16), 3.8))


def radar(axes: Sequence[str], series: dict[str, Sequence[float | None]], *, title: str) -> bytes:
    """One polygon per series (a locale) over ``axes`` (the Schwartz values), radius −1…+1."""

    def draw(fig) -> None:
        ax = fig.add_subplot(projection="polar")
        angles = [2 * math.pi * i / len(axes) for i in range(len(axes))]
        ring = [2 * math.pi * i / 120 for i in range(121)]
        ax.plot(ring, [0.0] * len(ring), color="#666666", linewidth=0.8, linestyle="--")  # "not involved"
        styles = series_styles(len(series))
        for s, (name, values) in enumerate(series.items()):
            style = styles[s]
            points = [_nan(v) for v in values]
            ax.plot(
                angles + angles[:1],
                points + points[:1],
                color=style.colour,
                label=name,
                linewidth=1.5,
                linestyle=style.linestyle,
                marker=style.marker,
                markersize=4,
            )
            ax.fill(
                angles + angles[:1],
                [0 if math.isnan(p) else p for p in points + points[:1]],
                color=style.colour,
                alpha=0.08,
            )
        ax.set_xticks(angles, list(axes))
        ax.set_ylim(-1, 1)
        ax.set_yticks([-1, -0.5, 0, 0.5, 1], ["−1", "", "0", "", "+1"])
        ax.set_title(title, loc="left")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.05, 1.05))

    return _render(draw, (6.5, 5.0))
