"""``python -m bench.web``: see ``bench/web/__init__.py``."""

from bench.web.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
