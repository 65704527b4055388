"""Static lists: records of one object type picked by hand."""
