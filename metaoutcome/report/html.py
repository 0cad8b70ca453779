"""Render the report's blocks as one self-contained HTML page (figures embedded as PNG data).

The page is laid out for a laptop: the text column is at most 72rem wide, every table fits it
(cells wrap, long words and links break; on a narrow screen a wide table scrolls inside its own
box, never the page), figures are shown at 1.3 times their printed size
(capped at the column width) so that 7-9 pt figure text reads as 12-16 px.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence

from ._model import Block, Contents, Figure, Heading, ItemList, Paragraph, Preformatted, Table

__all__ = ["render_html"]

#: CSS px per inch, and how much larger than printed a figure is shown on screen
_CSS_DPI, _SCREEN_SCALE = 96.0, 1.3

_STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:72rem;margin:1.5rem auto;
padding:0 1.25rem;line-height:1.45;color:#1b1b1b;font-size:16px}
h1{font-size:1.7rem;margin:.2rem 0 .6rem}h2{font-size:1.35rem;margin-top:2.6rem;border-bottom:2px solid #d8dee4;
padding-bottom:.25rem}h3{font-size:1.1rem;margin-top:1.8rem}
nav.toc{background:#f6f8fa;border:1px solid #d8dee4;border-radius:6px;padding:.6rem 1.2rem;margin:1rem 0}
nav.toc ul{margin:.2rem 0;padding-left:1.4rem}nav.toc>ul{list-style:none;padding-left:.2rem}
nav.toc li{margin:.1rem 0}
figure{margin:1.2rem 0;max-width:100%}
figcaption{margin:.35rem 0;font-size:.95rem}figcaption b{font-weight:650}
table{border-collapse:collapse;width:100%;font-size:.84rem;table-layout:auto}
th,td{padding:.3rem .45rem;border-bottom:1px solid #d8dee4;text-align:left;vertical-align:top;
overflow-wrap:break-word;word-break:normal;hyphens:manual}
th{background:#f0f3f6;font-weight:600;border-bottom:2px solid #b9c2cc}
td.num,th.num{text-align:right}td.num{white-space:nowrap}
tr.pooled td{font-weight:600;border-top:1.5px solid #8c959f}
p.note{font-size:.8rem;color:#444;margin:.3rem 0}
img{max-width:100%;height:auto;display:block}
div.wrap{overflow-x:auto;max-width:100%}
@media (max-width:70rem){table{font-size:.76rem}th,td{padding:.25rem .3rem}}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:.6rem}
ol.refs li,ol.sources li{margin:.2rem 0;overflow-wrap:anywhere}
footer{margin-top:3rem;font-size:.8rem;color:#555;border-top:1px solid #d8dee4;padding-top:.5rem}
"""

_NUMBER = re.compile(r"^[<>]?-?\d[\d,]*(\.\d+)?%?$")


def _is_numeric(values: Sequence[str]) -> bool:
    vals = [v for v in values if v and v != "–"]  # "–" (not applicable) does not make a column text
    return bool(vals) and all(_NUMBER.match(v) for v in vals)


def _table(t: Table) -> str:
    esc = html.escape
    frame = t.frame
    numeric = [_is_numeric([str(v) for v in frame[c]]) for c in frame.columns]
    head = "".join(f'<th{" class=num" if n else ""} scope="col">{esc(str(c))}</th>'
                   for c, n in zip(frame.columns, numeric))
    body = []
    last = len(frame) - 1
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = ' class="pooled"' if t.kind == "study" and i == last else ""
        cells = "".join(f'<td{" class=num" if n else ""}>{esc(str(v))}</td>' for v, n in zip(row, numeric))
        body.append(f"<tr{cls}>{cells}</tr>")
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in t.notes)
    return (f'<figure class="table" id="{esc(t.label.lower().replace(" ", "-"))}"><figcaption><b>{esc(t.label)}.</b> '
            f"{esc(t.caption)}</figcaption><div class=\"wrap\"><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>{notes}</figure>")


def _figure(f: Figure) -> str:
    esc = html.escape
    w, h, dpi = f.png_size()
    width = round(w / dpi * _CSS_DPI * _SCREEN_SCALE)
    data = base64.b64encode(f.path.read_bytes()).decode("ascii")
    pdf = f" (vector PDF: <code>{esc(f.pdf_name)}</code>)" if f.pdf_name else ""
    return (f'<figure id="{esc(f.label.lower().replace(" ", "-"))}"><img alt="{esc(f.caption)}" width="{width}" '
            f'src="data:image/png;base64,{data}"><figcaption><b>{esc(f.label)}.</b> {esc(f.caption)}{pdf}'
            "</figcaption></figure>")


def _items(b: ItemList) -> str:
    esc = html.escape
    tag = "ol" if b.ordered else "ul"
    lis = []
    for text, url in b.items:
        link = f' <a href="{esc(url)}">{esc(url)}</a>' if url else ""
        lis.append(f"<li>{esc(text)}{link}</li>")
    return f'<{tag} class="refs">{"".join(lis)}</{tag}>'


def render_html(blocks: Sequence[Block], *, title: str, footer: str = "") -> str:
    """The blocks as a complete HTML document (a string ending in a newline)."""
    esc = html.escape
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            anchor = f' id="{esc(b.anchor)}"' if b.anchor else ""
            out.append(f"<h{b.level}{anchor}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            lead = f"<b>{esc(b.lead)}</b> " if b.lead else ""
            out.append(f"<p>{lead}{esc(b.text)}</p>")
        elif isinstance(b, Table):
            out.append(_table(b))
        elif isinstance(b, Figure):
            out.append(_figure(b))
        elif isinstance(b, ItemList):
            out.append(_items(b))
        elif isinstance(b, Preformatted):
            out.append(f"<pre>{esc(b.text)}</pre>")
        elif isinstance(b, Contents):
            out.append(_contents(b))
    foot = f"<footer>{esc(footer)}</footer>" if footer else ""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(out) + f"\n{foot}\n</body></html>\n")


def _contents(c: Contents) -> str:
    esc = html.escape
    parts = ['<nav class="toc" aria-label="Contents"><b>Contents</b><ul>']
    level = 2
    first = True
    for lev, text, anchor in c.entries:
        if lev > level:
            parts.append("<ul>")
        elif lev < level:
            parts.append("</li></ul></li>")
        elif not first:
            parts.append("</li>")
        parts.append(f'<li><a href="#{esc(anchor)}">{esc(text)}</a>')
        level, first = lev, False
    if not first:
        parts.append("</li>")
    if level > 2:
        parts.append("</ul></li>")
    parts.append("</ul></nav>")
    return "".join(parts)
