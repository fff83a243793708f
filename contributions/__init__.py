"""Contributions: receiving uploads, then validating, scoring (proof of contribution), attesting
and pinning each, and the releases that list what was pinned."""
