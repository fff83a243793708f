"""``python -m datadao_cli``: the same as the ``datadao`` console script."""

import sys

from datadao_cli.main import main

sys.exit(main())
