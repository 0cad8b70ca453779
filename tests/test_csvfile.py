"""The one CSV reader (metaoutcome.csvfile): each trap of the class, and what the reader makes of it.

The validator, ``metaoutcome pool`` and the bundled-table loader all read through it (their own
tests check that); here each case states the rows read and the exact problems reported.
"""

from __future__ import annotations

import pytest

from metaoutcome.csvfile import read_csv_file, read_csv_text

CASES: dict[str, tuple[str | bytes, list[list[str]], list[str]]] = {
    # name: (content, rows read, problems as file:row:column: message)
    "plain": ("a,b\n1,2\n3,4\n", [["1", "2"], ["3", "4"]], []),
    "crlf-and-bom": ("\ufeffa,b\r\n1,2\r\n", [["1", "2"]], []),
    "old-mac-line-ends": ('a,b\r1,2\r3,"x\r5,6\r', [["1", "2"]],
                          ["f.csv:3:-: a quote opened on this line is never closed, so the 1 line after it (to line 4, "
                           "the end of the file) would be read into one cell; close the quote"]),
    "no-final-newline": ("a,b\n1,2", [["1", "2"]], []),
    "spaces-around-cells": ('a , b\n 1 , "2"\n', [["1", "2"]], []),
    "quoted-comma": ('a,b\n"1,5",2\n', [["1,5", "2"]], []),
    "unterminated-quote-at-the-end": (
        'a,b\n1,2\n3,"x\n5,6\n7,8\n', [["1", "2"]],
        ["f.csv:3:-: a quote opened on this line is never closed, so the 2 lines after it (to line 5, the end of the "
         "file) would be read into one cell; close the quote"],
    ),
    "quote-closed-lines-later": (
        'a,b\n1,"x\n2,y"\n3,z\n', [["3", "z"]],
        ["f.csv:2:b: a quote opened in this cell (line 2) is closed only on line 3, so line 3 is read into this cell; "
         "close the quote, or remove the line break inside the cell (each row of a table must be one line)"],
    ),
    "quote-runs-on-to-another": (
        'a,b\n1,"x\n2,"y"z\n', [],
        ["f.csv:2:-: a quote opened on this line runs on to a quote on line 3 (line 3 would be read into one cell); "
         "close the quote"],
    ),
    "text-after-closing-quote": (
        'a,b\n"1"x,2\n', [],
        ["f.csv:2:-: not a readable CSV line (',' expected after '\"'): text after a closing quote? a quoted cell "
         "must end at the next comma"],
    ),
    "trailing-comma-everywhere": ("a,b,\n1,2,\n", [["1", "2"]],
                                  ["f.csv:1:-: warning: 1 empty column(s) at the end of the header, with no values "
                                   "(a trailing comma on each line?), ignored"]),
    "trailing-fields-on-a-row": ("a,b\n1,2,,\n", [["1", "2"]],
                                 ["f.csv:2:-: warning: 2 empty field(s) after the last column, ignored"]),
    "short-row": ("a,b\n1\n", [], ["f.csv:2:-: the row has 1 field but the header has 2"]),
    "long-row": ("a,b\n1,2,3\n", [], ["f.csv:2:-: the row has 3 fields but the header has 2"]),
    "blank-rows": ("a,b\n\n1,2\n , \n", [["1", "2"]],
                   ["f.csv:2:-: warning: blank row (ignored)", "f.csv:4:-: warning: blank row (ignored)"]),
    "duplicate-header": ("a,a\n1,2\n", [["1", "2"]], ["f.csv:1:a: the column appears more than once in the header"]),
    "empty-header-cell": ("a,,c\n1,2,3\n", [["1", "2", "3"]],
                          ["f.csv:1:column 2: the header cell is empty; every column needs a name"]),
    "blank-first-line": ("\na,b\n1,2\n", [],
                         ["f.csv:1:-: line 1 is blank: the header (the column names) must be the first line"]),
    "semicolons": ("a;b\n1;2\n", [], ["f.csv:1:-: the header is one column 'a;b': the file looks separated by "
                                      "semicolons; save it as comma-separated CSV"]),
    "tabs": ("a\tb\n1\t2\n", [], ["f.csv:1:-: the header is one column 'a\\tb': the file looks separated by tabs; "
                                  "save it as comma-separated CSV"]),
    "empty": ("  \n", [], ["f.csv:-:-: the file is empty (expected a header row and data rows)"]),
    "not-utf8": (b"a,b\n1,\xe9\n", [], ["f.csv:2:-: not valid UTF-8: byte 0xe9 at offset 6; save the file as UTF-8"]),
    "utf-16": ("a,b\n1,2\n".encode("utf-16"), [],
               ["f.csv:1:-: the file is UTF-16 (Excel's 'Unicode text'), not UTF-8; save it as 'CSV UTF-8'"]),
    "excel-sep-hint": ("sep=,\na,b\n1,2\n", [],
                       ["f.csv:1:-: line 1 is Excel's separator hint 'sep=,', not the header; delete that line"]),
    "nul-byte": ("a,b\n1,\x002\n", [], ["f.csv:2:-: the line holds a NUL byte: this is not a text CSV (a spreadsheet "
                                        "file saved as .csv?)"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_trap(name: str) -> None:
    content, rows, problems = CASES[name]
    f = read_csv_text(content, "f.csv")
    assert f.rows == rows
    assert [str(p) for p in f.problems] == problems


def test_rows_are_lines() -> None:
    f = read_csv_text("a,b\n\n1,2\n3\n4,5\n", "f.csv")
    assert f.lines == [3, 5] and list(f.frame().index) == [3, 5]


def test_no_row_count_differs_from_the_lines_without_an_error() -> None:
    # the property issue 13 asks for: rows read + rows reported = data lines of the file
    for name, (content, rows, problems) in CASES.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        data_lines = max(len(text.splitlines()) - 1, 0)
        reported = {p.split(":")[1] for p in problems if p.split(":")[1] not in ("-", "1")}
        if len(rows) != data_lines:
            assert problems, name
            assert len(rows) + len(reported) <= data_lines, name


def test_file_errors(tmp_path) -> None:  # noqa: ANN001
    assert [str(p) for p in read_csv_file(tmp_path / "nope.csv", label="nope.csv").problems] == [
        "nope.csv:-:-: no such file"]
    assert [p.message for p in read_csv_file(tmp_path).problems] == ["not a file"]


def test_map_columns() -> None:
    from metaoutcome.csvfile import map_columns

    f = read_csv_text("HR,Lower\n0.8,0.7\n", "f.csv")
    map_columns(f, {"HR": "hr", "Lower": "ci_low"})
    assert f.header == ["hr", "ci_low"] and f.user_column("ci_low") == "Lower"
    with pytest.raises(ValueError, match="f.csv already has a column 'hr'"):
        map_columns(read_csv_text("HR,hr\n1,2\n", "f.csv"), {"HR": "hr"})
    with pytest.raises(ValueError, match="has no column 'X'"):
        map_columns(read_csv_text("HR\n1\n", "f.csv"), {"X": "hr"})
