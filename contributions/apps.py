from django.apps import AppConfig


class ContributionsConfig(AppConfig):
    name = "contributions"
