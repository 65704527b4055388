"""Tags: workspace labels any record can carry."""
