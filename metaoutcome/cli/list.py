"""``metaoutcome list``: the bundled tables with their sizes."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import FORMATTER, add_traceback, examples

NAME = "list"
ORDER = 30


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="list the bundled datasets", description="List the bundled tables with their sizes.",
        formatter_class=FORMATTER, epilog=examples("metaoutcome list", "metaoutcome list --traceback"),
    )
    add_traceback(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..datasets import list_datasets

    frame = list_datasets()
    width = max(len(n) for n in frame["name"])
    for row in frame.itertuples():
        print(f"{row.name:<{width}}  {row.rows:>4} rows  {row.description}")
    return 0
