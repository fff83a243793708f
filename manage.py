#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["contribute"]:
        # The contributor's client (datadao_cli), not a server task: it runs without Django, so
        # it needs none of the server's settings (DEBUG, SECRET_KEY, a database).
        from datadao_cli.main import main as client

        sys.exit(client(sys.argv[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
