"""``python -m bench.pipeline``: see ``bench/pipeline/__init__.py``."""

from bench.pipeline.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
