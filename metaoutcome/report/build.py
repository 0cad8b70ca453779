"""From what the analyses wrote (:class:`~metaoutcome.reproduce.AnalysisOutput`) to the report's blocks.

Per review question, in this order: the summary of findings, the included trials, the results
(paragraphs, forest plots with numbered captions, results tables on the natural scale), the one
"not pooled, and why" table, the methods with their references, and the data sources with DOI
and PMID. A section an analysis gives nothing for is left out, and so is a table with no rows.
Analyses that only write paragraphs, figures and tables get those, in the order written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._model import Block, Contents, Figure, Heading, ItemList, Paragraph, Preformatted, Table, slug
from .references import reference_list

__all__ = ["analysis_blocks", "report_blocks", "write_report"]

_SOF_NOTES = (
    "CI: confidence interval. PI: prediction interval (the range of the effect expected in a new trial). "
    "HR: hazard ratio. I²: share of the variability due to heterogeneity rather than chance.",
    "Inconsistency and imprecision are rated from the data by the rules in the methods; risk of bias, "
    "indirectness and publication bias are the reviewer's judgements (not assessed unless given). The overall "
    "certainty is rated only when all five domains are (otherwise: not rated).",
)
_FLOW_NOTE = ("Counts as in a PRISMA 2020 flow diagram (Page et al. 2021): rows of the curated data that match the "
              "question, rows that gave an effect size and its variance, and studies in the pooled model.")


#: a curator's note about the stored copy of a source, which the CSV keeps and a reader does not need
_CURATION_NOTE = re.compile(r"\s*\([^()]*stored copy[^()]*\)")


class _Counter:
    def __init__(self) -> None:
        self.tables = 0
        self.figures = 0

    def table(self) -> str:
        self.tables += 1
        return f"Table {self.tables}"

    def figure(self) -> str:
        self.figures += 1
        return f"Figure {self.figures}"


def _sources(ids: Sequence[str]) -> ItemList:
    from ..datasets import load_dataset

    src = load_dataset("sources").set_index("source_id")
    items = []
    for sid in dict.fromkeys(ids):
        if sid not in src.index:
            items.append((f"{sid} (not in the sources table)", ""))
            continue
        row = src.loc[sid]
        text = _CURATION_NOTE.sub("", str(row["citation"])).strip()
        pmid = row.get("pmid")
        if pmid is not None and not pd.isna(pmid):
            text += f" PMID {int(float(pmid))}."
        doi = row.get("doi")
        url = f"https://doi.org/{doi}" if isinstance(doi, str) and doi.strip() else ""
        items.append((text, url))
    return ItemList(tuple(items), ordered=True)


def _nonempty(frame: pd.DataFrame) -> bool:
    return len(frame.columns) > 0 and len(frame) > 0 and bool((frame.astype(str) != "").to_numpy().any())


def analysis_blocks(output: Any, number: int | None = None, counter: _Counter | None = None,
                    ) -> tuple[list[Block], list[tuple[int, str, str]]]:
    """The blocks of one analysis and its table-of-contents entries."""
    from .sof import rules_text, sof_display
    from .tables import humanize, not_pooled_table

    counter = counter or _Counter()
    o = output
    title = f"{number}. {o.title}" if number is not None else o.title
    blocks: list[Block] = [Heading(title, 2, o.name)]
    toc: list[tuple[int, str, str]] = [(2, title, o.name)]

    def section(text: str) -> None:
        anchor = f"{o.name}-{slug(text)}"
        blocks.append(Heading(text, 3, anchor))
        toc.append((3, text, anchor))

    kinds: dict[str, list[Any]] = {}
    for kind, payload in o.items:
        kinds.setdefault(kind, []).append(payload)
    displays: Mapping[str, pd.DataFrame] = getattr(o, "displays", {})
    notes: Mapping[str, tuple[str, ...]] = getattr(o, "table_notes", {})
    hidden: set[str] = getattr(o, "hidden", set())

    for rows, caption in kinds.get("sof", []):
        section("Summary of findings")
        blocks.append(Table(counter.table(), caption, sof_display(rows), _SOF_NOTES, kind="sof"))
    for caption, frame, tnotes in kinds.get("characteristics", []):
        if _nonempty(frame):
            section("Included trials")
            blocks.append(Table(counter.table(), caption, frame, tuple(tnotes), kind="characteristics"))

    texts = kinds.get("text", [])
    methods = [md for heading, md in texts if heading.strip().lower() == "methods"]
    others = [(heading, md) for heading, md in texts if heading.strip().lower() != "methods"]
    result_blocks: list[Block] = []
    for heading, md in others:
        for i, para in enumerate(p.strip() for p in md.split("\n\n") if p.strip()):
            lead = "" if heading.strip().lower() == "results" or i else f"{heading}."
            result_blocks.append(Paragraph(para, lead))
    for kind, payload in o.items:
        if kind == "figure":
            name, caption, png = payload
            result_blocks.append(Figure(counter.figure(), caption, Path(png), f"{o.name}/figures/{name}.pdf"))
    for kind, payload in o.items:
        if kind == "table":
            name, caption, frame, digits = payload
            if name in hidden:
                continue
            disp = displays.get(name)
            disp = humanize(frame, digits) if disp is None else disp
            if _nonempty(disp):
                result_blocks.append(Table(counter.table(), caption, disp, tuple(notes.get(name, ())),
                                           kind="study" if name in getattr(o, "study_tables", set()) else "results"))
    if result_blocks:
        section("Results")
        blocks += result_blocks

    flows = [f for payload in kinds.get("not_pooled", []) for f in payload]
    if flows:
        section("Not pooled, and why")
        blocks.append(Table(counter.table(), "Rows of the curated data that were not pooled, and why",
                            not_pooled_table(flows), (_FLOW_NOTE,), kind="flow"))

    refs = [k for payload in kinds.get("references", []) for k in payload]
    if kinds.get("sof") or flows:
        refs += ["grade", "grade_imprecision", "grade_inconsistency", "grade_tte", "prisma"]
    if methods or refs:
        section("Methods")
        for md in methods:
            blocks += [Paragraph(p.strip()) for p in md.split("\n\n") if p.strip()]
        if kinds.get("sof"):
            blocks.append(Paragraph(rules_text()))
        if flows:
            blocks.append(Paragraph(
                "Every row of the curated data that matches the question is accounted for as in a PRISMA 2020 flow "
                "diagram (Page et al. 2021): rows available, rows converted to an effect size and its variance, "
                "and studies pooled, with the reason for each row not pooled."))
        if refs:
            blocks.append(Heading("References", 4))
            blocks.append(ItemList(tuple((r, "") for r in reference_list(refs)), ordered=True))

    ids = [s for payload in kinds.get("sources", []) for s in payload]
    if ids:
        section("Data sources")
        blocks.append(Paragraph("The publications and registry records every number was read from (the curated "
                                "data's sources table), with DOI and PubMed identifiers where they exist."))
        blocks.append(_sources(ids))
    return blocks, toc


def report_blocks(outputs: Sequence[Any], failures: Mapping[str, str], versions: Mapping[str, str]) -> list[Block]:
    """The whole report: title, contents, each analysis, then any failure."""
    counter = _Counter()
    body: list[Block] = []
    toc: list[tuple[int, str, str]] = []
    number = 0
    for o in outputs:
        if o.name in failures:
            continue
        number += 1
        b, t = analysis_blocks(o, number, counter)
        body += b
        toc += t
    for name, cause in failures.items():
        anchor = slug(name) + "-failed"
        body += [Heading(f"{name}: failed", 2, anchor), Preformatted(cause)]
        toc.append((2, f"{name}: failed", anchor))
    intro = Paragraph(
        "Generated by metaoutcome reproduce from the bundled, provenance-tracked data: one section per review "
        "question, each with its summary of findings, included trials, results, what was not pooled and why, "
        "methods and data sources. Numbers are on the natural scale; the analysis-scale values are in the CSV "
        "tables beside this report."
    )
    return [Heading("metaoutcome: reproduced analyses", 1), intro, Contents(tuple(toc)), *body]


def _footer(versions: Mapping[str, str]) -> str:
    return "Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "."


def write_report(out: Path, outputs: Sequence[Any], failures: Mapping[str, str],
                 versions: Mapping[str, str]) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.docx`` into ``out``; return their paths."""
    from .docx import render_docx
    from .html import render_html

    blocks = report_blocks(outputs, failures, versions)
    title = "metaoutcome: reproduced analyses"
    html_path, docx_path = Path(out) / "report.html", Path(out) / "report.docx"
    html_path.write_text(render_html(blocks, title=title, footer=_footer(versions)), encoding="utf-8")
    docx_path.write_bytes(render_docx(blocks, title=title, footer=_footer(versions)))
    return html_path, docx_path

