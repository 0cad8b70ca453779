"""Render the report's blocks as a Word document (python-docx), byte for byte reproducible.

Tables are real Word tables (a header row, one cell per value), figures are the same PNGs as the
HTML page at their printed width (at most the 17 cm text width of an A4 page with 2 cm margins).
Two things would make the bytes change from run to run, and both are fixed: the document's core
properties (creation and modification dates, revision) are set to constants, and the ZIP
container is rewritten with a fixed timestamp on every member.
"""

from __future__ import annotations

import datetime as _dt
import io
import zipfile
from collections.abc import Sequence
from typing import Any

from ._model import Block, Contents, Figure, Heading, ItemList, Paragraph, Preformatted, Table

__all__ = ["render_docx", "normalise_zip"]

#: written into every document so that reruns give the same bytes (the ZIP format's own epoch)
FIXED_TIME = _dt.datetime(1980, 1, 1, 0, 0, 0)
_TEXT_WIDTH_MM = 170.0
_TABLE_PT, _BODY_PT = 8, 10


def normalise_zip(data: bytes) -> bytes:
    """Rewrite a ZIP archive with every member dated 1980-01-01 00:00, in the original order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            fixed.create_system = 3
            dst.writestr(fixed, src.read(info.filename))
    return buf.getvalue()


def _cell_text(cell: Any, text: str, bold: bool = False, size: int = _TABLE_PT) -> None:
    from docx.shared import Pt

    par = cell.paragraphs[0]
    run = par.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold


def _table(doc: Any, t: Table) -> None:
    from docx.shared import Pt

    cap = doc.add_paragraph()
    r = cap.add_run(f"{t.label}. ")
    r.bold = True
    cap.add_run(t.caption)
    frame = t.frame
    table = doc.add_table(rows=len(frame) + 1, cols=len(frame.columns))
    table.style = "Table Grid"
    rows = table.rows  # one pass per row: python-docx's table.cell(i, j) walks the whole grid each call
    for cell, c in zip(rows[0].cells, frame.columns):
        _cell_text(cell, str(c), bold=True)
    last = len(frame) - 1
    for i, (row, values) in enumerate(zip(rows[1:], frame.itertuples(index=False))):
        for cell, v in zip(row.cells, values):
            _cell_text(cell, str(v), bold=(t.kind == "study" and i == last))
    for note in t.notes:
        p = doc.add_paragraph()
        run = p.add_run(note)
        run.font.size = Pt(_TABLE_PT)


def _figure(doc: Any, f: Figure) -> None:
    from docx.shared import Mm

    w, _, dpi = f.png_size()
    width_mm = min(w / dpi * 25.4, _TEXT_WIDTH_MM)
    doc.add_picture(str(f.path), width=Mm(width_mm))
    cap = doc.add_paragraph()
    r = cap.add_run(f"{f.label}. ")
    r.bold = True
    cap.add_run(f.caption)


def render_docx(blocks: Sequence[Block], *, title: str, footer: str = "") -> bytes:
    """The blocks as a .docx file's bytes (deterministic)."""
    from docx import Document
    from docx.shared import Mm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = sec.top_margin = sec.bottom_margin = Mm(20)
    doc.styles["Normal"].font.size = Pt(_BODY_PT)
    cp = doc.core_properties
    cp.title = title
    cp.author = cp.last_modified_by = "metaoutcome"
    cp.created = cp.modified = cp.last_printed = FIXED_TIME
    cp.revision = 1
    for b in blocks:
        if isinstance(b, Heading):
            doc.add_heading(b.text, level=min(b.level - 1, 9) if b.level > 1 else 0)
        elif isinstance(b, Paragraph):
            p = doc.add_paragraph()
            if b.lead:
                p.add_run(b.lead + " ").bold = True
            p.add_run(b.text)
        elif isinstance(b, Table):
            _table(doc, b)
        elif isinstance(b, Figure):
            _figure(doc, b)
        elif isinstance(b, ItemList):
            style = "List Number" if b.ordered else "List Bullet"
            for text, url in b.items:
                doc.add_paragraph(text + (f" {url}" if url else ""), style=style)
        elif isinstance(b, Preformatted):
            doc.add_paragraph(b.text)
        elif isinstance(b, Contents):
            doc.add_paragraph().add_run("Contents").bold = True
            for level, text, _ in b.entries:
                p = doc.add_paragraph(text)
                p.paragraph_format.left_indent = Mm(6 * (level - 2))
    if footer:
        p = doc.add_paragraph()
        p.add_run(footer).font.size = Pt(_TABLE_PT)
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())
