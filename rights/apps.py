from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = "Data rights"

    def ready(self) -> None:
        # Grantees read what their grants cover through /ipfs/<cid>, besides the members the
        # contributions app lets in; and every read of that content is logged.
        from contributions import query_access
        from datadao import personal
        from ipfs import access, reads
        from rights import personal_parts, selectors, services

        access.register("contribution:", selectors.grant_allows_contribution_pin)
        access.register("release:", selectors.grant_allows_release_pin)
        reads.register(services.read_record)
        # Grantees may run aggregate queries on what their grants cover.
        query_access.register("grants", selectors.query_policy)
        # A person's export holds their grants and purchases and the use of their data.
        personal.register(
            personal.Part(
                "rights",
                personal_parts.files,
                "the access grants naming your wallet and your purchases, the grants that "
                "covered your data, every read of your data (when, what, on which basis) and "
                "what you read",
            )
        )
