from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        # A founder's checklist reads whether a dataset's reward policy pays anything.
        from datadao import cards
        from rewards.selectors import policies_paying

        cards.register_reward_policies(policies_paying)
        # A person's export holds their credits, allocations and vouchers.
        from datadao import personal
        from datadao.metrics import register_collector
        from rewards import metrics_state, personal_parts

        register_collector("reward-epochs", metrics_state.epochs)

        personal.register(
            personal.Part(
                "rewards",
                personal_parts.files,
                "every reward credit, what each closed epoch allocated you with its Merkle "
                "proof, your vouchers",
            )
        )
