from django.apps import AppConfig


class ContributionsConfig(AppConfig):
    name = "contributions"

    def ready(self) -> None:
        # The sweeper re-dispatches contributions stuck in an active state (a lost message).
        from contributions import services
        from datadao.sweeper import Sweep, register

        register(
            Sweep(
                name="contributions",
                find_stuck=services.contributions_stuck,
                dispatch=services.contribution_redispatch,
            )
        )
