from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class DatadaoConfig(AppConfig):
    default = True
    name = "datadao"
    verbose_name = "DAOs"


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """The admin, with the DAO-scoped console site as its default site."""

    default = False
    default_site = "datadao.console.ConsoleSite"
