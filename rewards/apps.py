from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        # A founder's checklist reads whether a dataset's reward policy pays anything.
        from datadao import cards
        from rewards.selectors import policies_paying

        cards.register_reward_policies(policies_paying)
