from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class DatadaoConfig(AppConfig):
    default = True
    name = "datadao"
    verbose_name = "DAOs"

    def ready(self) -> None:
        # A person's export (GET /api/me/export.zip) starts with their profile and audit trail.
        from datadao import metrics, metrics_state, personal, personal_parts

        metrics.register_collector("queues", metrics_state.queues)

        from datadao import blobs
        from datadao.sweeper import Purge, register_purge

        # Local copies of stored objects (UPLOAD_STORAGE=s3) a killed process left behind.
        register_purge(
            Purge(name="blob-copies", run=lambda now: blobs.clear_stale_copies(now.timestamp()))
        )
        metrics.register_collector("workers", metrics_state.heartbeats)

        personal.register(
            personal.Part(
                "account",
                personal_parts.files,
                "your address, memberships, the join terms you signed, the audit log of your "
                "actions",
            )
        )


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """The admin, with the DAO-scoped console site as its default site."""

    default = False
    default_site = "datadao.console.ConsoleSite"
