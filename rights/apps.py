from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = "Data rights"

    def ready(self) -> None:
        # Grantees read what their grants cover through /ipfs/<cid>, besides the members the
        # contributions app lets in; and every read of that content is logged.
        from ipfs import access, reads
        from rights import selectors, services

        access.register("contribution:", selectors.grant_allows_contribution_pin)
        access.register("release:", selectors.grant_allows_release_pin)
        reads.register(services.read_record)
