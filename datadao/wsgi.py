"""WSGI entry point (gunicorn datadao.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "datadao.settings")
application = get_wsgi_application()
