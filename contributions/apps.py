from django.apps import AppConfig


class ContributionsConfig(AppConfig):
    name = "contributions"

    def ready(self) -> None:
        # The sweeper re-dispatches contributions stuck in an active state (a lost message).
        from contributions import selectors, services
        from datadao.sweeper import Sweep, register
        from ipfs import access

        register(
            Sweep(
                name="contributions",
                find_stuck=services.contributions_stuck,
                dispatch=services.contribution_redispatch,
            )
        )
        # /ipfs/<cid> serves a members-only dataset's bytes to its members only.
        access.register("contribution:", selectors.may_read_contribution_pin)
        access.register("release:", selectors.may_read_release_pin)
