from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The top floor: the operator's and DAO admin's dashboard and the demo's orchestration.
    It may import every app; no app imports it."""

    name = "console"
