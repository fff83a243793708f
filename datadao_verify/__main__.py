"""``python -m datadao_verify CID``: the same as ``datadao verify CID``."""

import sys

from datadao_verify.cli import main

sys.exit(main())
