"""``python -m datadao_validator run …``: the same as ``datadao validator run …``."""

import sys

from datadao_validator.cli import main

sys.exit(main())
