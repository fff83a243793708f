"""Queries without download: read-only SQL over a release that returns aggregates only, on
groups of at least k rows. Pure (no Django): ``guard`` checks and rewrites the SQL, ``engine``
runs it in a locked-down in-memory DuckDB."""
