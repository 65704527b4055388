"""Object types, fields and pipelines: the metadata that describes every record."""
