"""``python -m bench.labeling_assign``: see ``bench/labeling_assign/__init__.py``."""

from bench.labeling_assign.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
