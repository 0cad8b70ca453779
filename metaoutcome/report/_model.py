"""The report as a list of blocks, rendered to HTML, Word and Markdown by one renderer each.

Every renderer draws the same blocks, so the three outputs cannot disagree about which tables,
figures and paragraphs the report holds.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str
    lead: str = ""  # bold lead-in, e.g. "Results."


@dataclass(frozen=True)
class Table:
    label: str  # "Table 3"
    caption: str
    frame: pd.DataFrame = field(compare=False)  # one string per cell, reader's headers
    notes: tuple[str, ...] = ()
    kind: str = "results"


@dataclass(frozen=True)
class Figure:
    label: str  # "Figure 2"
    caption: str
    path: Path  # the PNG
    pdf_name: str = ""

    def png_size(self) -> tuple[int, int, float]:
        """(width px, height px, dpi) read from the PNG's IHDR and pHYs chunks (dpi 72 if absent)."""
        data = self.path.read_bytes()
        w, h = struct.unpack(">II", data[16:24])
        dpi = 72.0
        i = data.find(b"pHYs")
        if i > 0:
            ppux, _, unit = struct.unpack(">IIB", data[i + 4:i + 13])
            if unit == 1:
                dpi = ppux * 0.0254
        return int(w), int(h), dpi


@dataclass(frozen=True)
class ItemList:
    items: tuple[tuple[str, str], ...]  # (text, url or "")
    ordered: bool = True


@dataclass(frozen=True)
class Preformatted:
    text: str


@dataclass(frozen=True)
class Contents:
    entries: tuple[tuple[int, str, str], ...]  # (level, text, anchor)


Block = Union[Heading, Paragraph, Table, Figure, ItemList, Preformatted, Contents]


def slug(text: str) -> str:
    """An HTML anchor from a heading: lower case, words joined by '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
