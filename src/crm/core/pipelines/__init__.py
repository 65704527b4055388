"""Pipelines: ordered stages that any object can move through."""
