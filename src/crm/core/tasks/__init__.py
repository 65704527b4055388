"""Tasks: completing and reopening records of the standard ``task`` object, their
categories, and the reminders the worker raises."""
