"""Render the report's blocks as Markdown (each analysis's ``<name>.md``, figures linked)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._model import Block, Contents, Figure, Heading, ItemList, Paragraph, Preformatted, Table

__all__ = ["render_markdown"]


def _escape(text: object) -> str:
    """Literal text: a ``*`` (a footnote mark such as "9*") must not open or close emphasis."""
    return str(text).replace("*", "\\*")


def _cell(v: object) -> str:
    return _escape(v).replace("|", "\\|").replace("\n", " ")


def _table(t: Table) -> str:
    cols = [_cell(c) for c in t.frame.columns]
    lines = [f"**{t.label}.** {t.caption}", "", "| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in t.frame.itertuples(index=False)]
    lines += [""] + [f"*{_escape(n)}*" for n in t.notes]
    return "\n".join(lines) + "\n"


def render_markdown(blocks: Sequence[Block], *, relative_to: Path | None = None, shift: int = 0) -> str:
    """The blocks as Markdown; figure links are relative to ``relative_to`` when given.

    ``shift`` raises every heading that many levels (an analysis's file starts at ``#``).
    """
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * max(b.level - shift, 1) + " " + b.text + "\n")
        elif isinstance(b, Paragraph):
            out.append((f"**{b.lead}** " if b.lead else "") + b.text + "\n")
        elif isinstance(b, Table):
            out.append(_table(b))
        elif isinstance(b, Figure):
            path = b.path.relative_to(relative_to) if relative_to is not None else b.path
            pdf = f" (PDF: `{b.pdf_name}`)" if b.pdf_name else ""
            out.append(f"![{b.caption}]({path.as_posix()})\n\n**{b.label}.** {b.caption}{pdf}\n")
        elif isinstance(b, ItemList):
            out.append("\n".join(f"{i}. {t}" + (f" <{u}>" if u else "") if b.ordered else f"- {t}"
                                 for i, (t, u) in enumerate(b.items, 1)) + "\n")
        elif isinstance(b, Preformatted):
            out.append("```\n" + b.text + "\n```\n")
        elif isinstance(b, Contents):
            out.append("\n".join("  " * (lev - 2) + f"- [{text}](#{anchor})" for lev, text, anchor in b.entries) + "\n")
    return "\n".join(out)
