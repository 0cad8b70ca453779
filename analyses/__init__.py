"""Reproducible review analyses, one module per review question.

Each module has a ``TITLE`` and a ``run(out)`` function that writes its figures, tables and
methods/results paragraphs through :class:`metaoutcome.reproduce.AnalysisOutput`. Run them all
with ``metaoutcome reproduce --out DIR``, or one directly with
``python -m metaoutcome._analyses.<name> DIR``. Installed as ``metaoutcome._analyses``.
"""
