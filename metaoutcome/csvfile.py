"""The one CSV reader: every CSV metaoutcome reads (the validator, ``metaoutcome pool``, the bundled
tables) goes through :func:`read_csv_file`, so a file is read the same way everywhere and every
problem is reported the same way, as ``file:row:column: message``.

Rows are lines: row 1 is the header, row ``n`` is line ``n`` of the file (as a spreadsheet shows
it). A record that spans several lines (a quoted cell holding a line break, or a quote that is
never closed and swallows the lines after it) is an error naming the line where the quote opened,
so the number of rows read always equals the number of lines in the file.

The reader never raises on a malformed file: it returns a :class:`CSVFile` whose ``problems`` list
every error and warning. What it looks for:

* the file cannot be read, is empty, is not UTF-8 (named by line and byte; UTF-16 by name), holds a
  NUL byte; Excel's ``sep=,`` hint on line 1;
* a byte-order mark (Excel's "CSV UTF-8") is removed; CRLF line ends are read as line ends;
* a quote that opens on one line and closes on a later one, or never closes;
* text after a closing quote (``"a"b``);
* the header: on line 1, no empty, duplicated or unnamed column; one column holding ``;`` or tabs
  (a file separated by something else than commas); trailing empty columns (a trailing comma on
  every line) are ignored with a warning;
* rows with fewer or more fields than the header (trailing empty fields are ignored with a
  warning); blank rows (ignored with a warning); whitespace around cells is removed.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "hrs.csv"
>>> _ = path.write_text('study,hr,note\\nA,0.8,ok\\nB,0.7,"see text\\nC,0.9,ok\\n', encoding="utf-8")
>>> f = read_csv_file(path)
>>> print(f.problems[0])  # doctest: +ELLIPSIS
/tmp/.../hrs.csv:3:-: a quote opened on this line is never closed, so the 1 line after it (to line 4, ...
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._schema import Table

__all__ = ["Problem", "CSVFile", "read_csv_file", "read_csv_text", "map_columns", "typed_frame"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a file: ``path:row:column: message`` (row ``None``/column ``None``
    print as ``-``: the whole file or the whole row)."""

    path: str
    row: int | None
    column: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        col = self.column or "-"
        tag = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{row}:{col}: {tag}{self.message}"


class ProblemList:
    """``errors`` and ``warnings`` of anything holding ``problems``: a read file, a validation report."""

    problems: Sequence[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


@dataclass
class CSVFile(ProblemList):
    """A CSV as read: header, data rows as text (whitespace stripped, ``""`` for an empty cell), the
    line of each row, and every problem found.

    ``renamed`` maps our column name to the user's after :meth:`rename` (``--map YOURS=OURS``), so
    messages can name the column as the user wrote it.
    """

    path: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        """True when the file gave a header (its rows may still hold problems)."""
        return bool(self.header)

    def user_column(self, column: str) -> str:
        """The user's name of our ``column`` (itself unless renamed)."""
        return self.renamed.get(column, column)

    def add(self, row: int | None, column: str | None, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(self.path, row, column, message, severity))

    def records(self) -> list[dict[str, str]]:
        """Each data row as ``{column: text}``."""
        return [dict(zip(self.header, r)) for r in self.rows]

    def rename(self, mapping: Mapping[str, str]) -> None:
        """Read the user's column ``key`` as our column ``value`` (checked by the caller)."""
        if not mapping:
            return
        self.header = [mapping.get(h, h) for h in self.header]
        self.renamed.update({ours: user for user, ours in mapping.items()})
        self.problems = [
            Problem(p.path, p.row, mapping.get(p.column, p.column) if p.column else p.column, p.message, p.severity)
            for p in self.problems
        ]

    def frame(self) -> pd.DataFrame:
        """The data rows as text (``None`` for an empty cell), indexed by their row in the file."""
        import pandas as pd

        data = [[c or None for c in r] for r in self.rows]
        return pd.DataFrame(data, columns=list(self.header), index=pd.Index(self.lines, name="file_row"), dtype=object)


def read_csv_file(path: str | Path, *, label: str | None = None) -> CSVFile:
    """Read a comma-separated UTF-8 file; see the module docstring for what is checked.

    Parameters
    ----------
    path : path
        The file.
    label : str, optional
        How messages name the file (default: ``str(path)``).
    """
    p = Path(path)
    out = CSVFile(label if label is not None else str(path))
    if not p.exists():
        out.add(None, None, "no such file")
        return out
    if not p.is_file():
        out.add(None, None, "not a file")
        return out
    try:
        data = p.read_bytes()
    except OSError as exc:
        out.add(None, None, f"cannot read the file ({exc.strerror or exc})")
        return out
    return _parse(data, out)


def read_csv_text(text: str | bytes, label: str) -> CSVFile:
    """Read CSV content already in memory (the same rules as :func:`read_csv_file`)."""
    return _parse(text.encode("utf-8") if isinstance(text, str) else text, CSVFile(label))


def _parse(data: bytes, out: CSVFile) -> CSVFile:
    if not data.strip():
        out.add(None, None, "the file is empty (expected a header row and data rows)")
        return out
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        out.add(1, None, "the file is UTF-16 (Excel's 'Unicode text'), not UTF-8; save it as 'CSV UTF-8'")
        return out
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        out.add(line, None, f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; save the file as UTF-8")
        return out
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        out.add(line, None, "the line holds a NUL byte: this is not a text CSV (a spreadsheet file saved as .csv?)")
        return out
    first = text.split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) <= 5:
        out.add(1, None, f"line 1 is Excel's separator hint {first!r}, not the header; delete that line")
        return out
    records, spans = _records(text, out)
    if not records:
        return out
    header_rec = records[0]
    if spans[0] != (1, 1):  # the header itself spans lines: already reported
        return out
    header = [h.strip() for h in header_rec]
    if not any(header):
        out.add(1, None, "line 1 is blank: the header (the column names) must be the first line")
        return out
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolons" if ";" in header[0] else "tabs"
        out.add(1, None, f"the header is one column {header[0]!r}: the file looks separated by {sep}; "
                         "save it as comma-separated CSV")
        return out
    data_recs = list(zip(records[1:], spans[1:]))
    # trailing empty header cells whose cells are empty on every row: a trailing comma on each line
    width = len(header)
    while width > 1 and not header[width - 1] and all(not "".join(r[width - 1:]).strip() for r, _ in data_recs):
        width -= 1
    if width < len(header):
        out.add(1, None, f"{len(header) - width} empty column(s) at the end of the header, with no values "
                         "(a trailing comma on each line?), ignored", "warning")
        header = header[:width]
    seen: set[str] = set()
    for i, h in enumerate(header):
        if not h:
            out.add(1, f"column {i + 1}", "the header cell is empty; every column needs a name")
        elif h in seen:
            out.add(1, h, "the column appears more than once in the header")
        seen.add(h)
    out.header = header
    for rec, (start, end) in data_recs:
        if start != end:
            continue  # a record spanning lines: already reported
        cells = [c.strip() for c in rec]
        if not any(cells):
            out.add(start, None, "blank row (ignored)", "warning")
            continue
        if len(cells) > width and not any(cells[width:]):
            if len(cells) > len(header_rec):  # more than a header's trailing comma
                out.add(start, None, f"{len(cells) - width} empty field(s) after the last column, ignored", "warning")
            cells = cells[:width]
        if len(cells) != width:
            s = "s" * (len(cells) != 1)
            out.add(start, None, f"the row has {len(cells)} field{s} but the header has {width}")
            continue
        out.rows.append(cells)
        out.lines.append(start)
    return out


def _records(text: str, out: CSVFile) -> tuple[list[list[str]], list[tuple[int, int]]]:
    """Records with the (first, last) line of each; records spanning lines are reported."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    records: list[list[str]] = []
    spans: list[tuple[int, int]] = []
    header: list[str] | None = None
    n_lines = len(re.findall(r"\r\n|\r|\n", text)) + (0 if text.endswith(("\n", "\r")) else 1)
    last = 0
    while True:
        start = last + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = reader.line_num
            if "end of data" in str(exc):
                after = n_lines - start
                rest = (f", so the {after} line{'s' * (after > 1)} after it (to line {n_lines}, the end of the file) "
                        "would be read into one cell") if after > 0 else ""
                out.add(start, None, f"a quote opened on this line is never closed{rest}; close the quote")
            elif line > start:  # a quote opened on an earlier line ran on to a later quote
                span = f"line {line}" if line == start + 1 else f"lines {start + 1} to {line}"
                out.add(start, None, f"a quote opened on this line runs on to a quote on line {line} ({span} "
                                     "would be read into one cell); close the quote")
            else:
                out.add(line, None, f"not a readable CSV line ({exc}): text after a closing quote? "
                                    "a quoted cell must end at the next comma")
            return records, spans
        end = reader.line_num
        last = end
        if end > start:
            col = next((i for i, c in enumerate(rec) if "\n" in c or "\r" in c), None)
            name = None
            if col is not None:
                name = header[col] if header and col < len(header) and header[col] else f"column {col + 1}"
            swallowed = f"line {start + 1} is" if end == start + 1 else f"lines {start + 1} to {end} are"
            out.add(start, name, f"a quote opened in this cell (line {start}) is closed only on line {end}, so "
                                 f"{swallowed} read into this cell; close the quote, or remove the line break "
                                 "inside the cell (each row of a table must be one line)")
        records.append(rec)
        spans.append((start, end))
        if header is None:
            header = [h.strip() for h in rec]
    return records, spans


def map_columns(f: CSVFile, mapping: Mapping[str, str], option: str = "columns") -> None:
    """Read the user's columns as ours (``{"HR": "hr"}``; the command line's ``--map HR=hr``).

    Raises ``ValueError`` naming ``option`` when a column is missing, mapped twice, or mapped onto
    a column the file already has.
    """
    seen: dict[str, str] = {}
    for user, ours in mapping.items():
        if user not in f.header:
            raise ValueError(f"{option} {user}={ours}: {f.path} has no column {user!r}; its columns: {', '.join(f.header)}")
        if ours in seen:
            raise ValueError(f"{option} {user}={ours}: two columns are mapped to {ours!r} ({seen[ours]!r} and {user!r})")
        seen[ours] = user
        if ours in f.header and ours not in mapping:
            raise ValueError(f"{option} {user}={ours}: {f.path} already has a column {ours!r}; map or rename that one too")
    f.rename(mapping)


def typed_frame(f: CSVFile, table: Table, *, nullable: bool = True) -> tuple[pd.DataFrame, list[Problem]]:
    """The rows of ``f`` with ``table``'s columns parsed to their declared types.

    Each cell goes through :meth:`metaoutcome._schema.Field.parse` (the validator's rule: whole
    numbers, numbers, the text booleans, confidence levels in percent). With ``nullable`` the
    columns get pandas' nullable dtypes (``Int64``, ``float64``, ``boolean``, ``string``: the
    bundled tables); without, numbers are ``float64`` and the rest Python objects with ``None``
    for a missing cell (the frames ``metaoutcome pool`` hands to the converters). Columns the table
    does not describe stay text. A cell that does not parse becomes missing and is returned as a
    problem (``file:row:column: message``, named as the user wrote the column).
    """
    import numpy as np
    import pandas as pd

    frame = f.frame()
    problems: list[Problem] = []
    for fl in table.fields:
        if fl.name not in frame.columns:
            continue
        values: list[Any] = []
        for row, cell in zip(f.lines, frame[fl.name].tolist()):
            if cell is None:
                values.append(None)
                continue
            v, err, _ = fl.parse(cell)
            if err is not None:
                problems.append(Problem(f.path, row, f.user_column(fl.name), err))
            values.append(v)
        if fl.type in ("integer", "number"):
            col = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
            frame[fl.name] = pd.array(col).astype("Int64") if nullable and fl.type == "integer" else col
        elif fl.type == "boolean":
            frame[fl.name] = pd.array(values, dtype="boolean") if nullable else pd.Series(values, index=frame.index, dtype=object)
        elif nullable:
            frame[fl.name] = pd.array(values, dtype="string")
    return frame, problems
