"""Intake: records from loosely keyed input (web forms, ad platforms, CSV exports)."""
