from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = "Disputes"

    def ready(self) -> None:
        from datadao.dispatch import send
        from datadao.sweeper import Sweep, register
        from disputes import selectors
        from rewards import holds

        # An open challenge whose replay message was lost is replayed again (idempotent).
        register(
            Sweep(
                name="challenges",
                find_stuck=selectors.challenges_stuck,
                dispatch=lambda pk: send("disputes.tasks.replay_challenge", pk),
            )
        )
        # A DAO whose epochs wait for the challenge window settles no credit under challenge.
        holds.register("challenges", selectors.held_sources)
        # A person's export holds the challenges they filed and those of their work.
        from datadao import personal
        from disputes import personal_parts

        personal.register(
            personal.Part(
                "disputes",
                personal_parts.files,
                "the challenges you filed and those of your work (challenges.json)",
            )
        )
