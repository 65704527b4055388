"""Workflows: automations that run steps on a record when something happens to it."""
