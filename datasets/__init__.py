"""Curated CSV tables of metaoutcome, installed as ``metaoutcome._data``.

See ``datapackage.json`` (Frictionless Data Package) for every column, and README.md here for
how the data were curated. Load them with :func:`metaoutcome.datasets.load_dataset`.
"""
