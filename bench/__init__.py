"""Benchmarks of the CRM core, run as ``python -m bench <name>``.

``storage`` measures the record storage design (one shared ``records`` table with JSON
field values and per-field expression indexes) at a chosen scale on SQLite or PostgreSQL.
"""
