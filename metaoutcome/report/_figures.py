"""Save one figure as PDF and PNG quickly, with embedded fonts and the same bytes on every run.

Where the time went (``python -m cProfile``, ``metaoutcome reproduce``, 10 forest plots): about
70% in PDF font subsetting. matplotlib embeds each font it uses as a TrueType (Type 42) subset,
made by fontTools from the whole font file, and fontTools spends most of that decompiling the
OpenType layout tables (GSUB, GPOS, GDEF, kern) of DejaVu Sans, which a PDF never uses (matplotlib
places every glyph itself; the embedded font only supplies outlines and advance widths). Type 3
fonts are no way out: slower here (0.47 s against 0.35 s a figure) and refused by some journals.

:func:`lean_font_subsetting` makes matplotlib subset from a copy of each font file without those
tables, made once per process (12 ms) and kept in memory: a forest plot's PDF then takes about
half the time. The embedded glyph outlines, widths and names are the same as before; the subset
just lacks the unused layout tables. The rest of :func:`save_pdf_png` draws less: the tight
bounding box is computed once and both formats are saved with it.
"""

from __future__ import annotations

import io
import os
import types
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["lean_font_subsetting", "save_pdf_png"]

#: tables a PDF's embedded TrueType subset never needs (layout is done by matplotlib)
_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "kern", "BASE", "JSTF", "MATH", "morx", "kerx")


@lru_cache(maxsize=16)
def _lean_font(path: str, number: int) -> bytes:
    from fontTools import ttLib

    # recalcTimestamp=False: saving must not stamp the current time into the head table
    font = ttLib.TTFont(path, lazy=True, fontNumber=number, recalcTimestamp=False)
    for tag in _LAYOUT_TABLES:
        if tag in font:
            del font[tag]
    buf = io.BytesIO()
    font.save(buf, reorderTables=False)
    font.close()
    return buf.getvalue()


class _LeanSubset(types.ModuleType):
    """fontTools.subset as matplotlib's PDF backend sees it, loading fonts without layout tables."""

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__(real.__name__)
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def load_font(self, font_file: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            path = os.fspath(font_file)
        except TypeError:  # already a file object: leave it to fontTools
            return self._real.load_font(font_file, options, *args, **kwargs)
        number = getattr(font_file, "face_index", None)
        if number is None:
            number = getattr(options, "font_number", -1)
        number = int(number) if number is not None and int(number) >= 0 else -1
        lean = io.BytesIO(_lean_font(str(path), number))
        saved = options.font_number
        options.font_number = -1  # the lean copy is a single font, not a collection
        try:
            return self._real.load_font(lean, options, *args, **kwargs)
        finally:
            options.font_number = saved


#: finished subsets, (font file, face, glyph ids) -> (font bytes, glyph index map), per process
_SUBSETS: dict[tuple[str, int, frozenset[int]], tuple[bytes, dict[int, int]]] = {}


def _cached_subsetter(pdf_ps: Any) -> Any:
    """matplotlib's ``get_glyphs_subset`` (3.11 API), remembering each finished subset.

    A figure embeds DejaVu Sans twice (text and mathtext) with the same glyphs, and most figures
    share subsets. Every call, hit or miss, returns the subset re-read from its saved bytes, so
    what is embedded does not depend on what was subset before in the process.
    """
    from fontTools import ttLib

    real = pdf_ps.get_glyphs_subset
    results = pdf_ps.SubsetResults

    def get_glyphs_subset(fontfile: Any, glyphs: Any) -> Any:
        key = (os.fspath(fontfile), int(getattr(fontfile, "face_index", 0) or 0), frozenset(int(g) for g in glyphs))
        hit = _SUBSETS.get(key)
        if hit is None:
            with real(fontfile, key[2]) as res:
                buf = io.BytesIO()
                res.font.save(buf, reorderTables=False)
                hit = _SUBSETS[key] = (buf.getvalue(), dict(res.glyph_index_map))
        font = ttLib.TTFont(io.BytesIO(hit[0]), recalcTimestamp=False, recalcBBoxes=False)
        return results(font, dict(hit[1]))._as_cm()

    return get_glyphs_subset


@contextmanager
def lean_font_subsetting() -> Iterator[None]:
    """Within the block, matplotlib's PDF/PS font subsetting skips the OpenType layout tables.

    With matplotlib's 3.11 subsetting API, finished subsets are also remembered (see
    :func:`_cached_subsetter`). Falls back to matplotlib's own subsetting (does nothing) where its
    private module layout differs from the one this was written against.
    """
    try:
        from matplotlib.backends import _backend_pdf_ps as pdf_ps
    except ImportError:  # pragma: no cover - another matplotlib layout
        yield
        return
    real = getattr(pdf_ps, "subset", None)
    if not isinstance(real, types.ModuleType) or not hasattr(real, "load_font"):  # pragma: no cover
        yield
        return
    real_get = pdf_ps.get_glyphs_subset
    pdf_ps.subset = _LeanSubset(real)  # type: ignore[attr-defined]
    if hasattr(pdf_ps, "SubsetResults") and hasattr(pdf_ps.SubsetResults, "_as_cm"):
        pdf_ps.get_glyphs_subset = _cached_subsetter(pdf_ps)
    try:
        yield
    finally:
        pdf_ps.subset = real  # type: ignore[attr-defined]
        pdf_ps.get_glyphs_subset = real_get


def save_pdf_png(fig: Any, folder: Path, name: str, dpi: float = 300.0, pad_inches: float = 0.05) -> tuple[Path, Path]:
    """Save ``fig`` as ``folder/name.pdf`` and ``folder/name.png`` (deterministic bytes).

    The tight bounding box is computed once, with the fixed plot style, and used for both files.
    """
    from ..plotting import savefig
    from ..plotting._style import plot_style

    canvas = fig.canvas
    if not hasattr(canvas, "get_renderer"):  # a bare Figure(): give it an Agg canvas to measure with
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
    with plot_style():
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox(canvas.get_renderer()).padded(pad_inches)
    pdf, png = folder / f"{name}.pdf", folder / f"{name}.png"
    with lean_font_subsetting():
        savefig(fig, pdf, bbox_inches=bbox)
    savefig(fig, png, dpi=dpi, bbox_inches=bbox)
    return pdf, png
