from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        # A founder's checklist reads whether a dataset's reward policy pays anything.
        from datadao import cards
        from rewards.selectors import policies_paying

        cards.register_reward_policies(policies_paying)
        # A person's export holds their credits, allocations, vouchers and clawbacks.
        from datadao import personal
        from datadao.metrics import register_collector
        from rewards import metrics_state, personal_parts

        register_collector("reward-epochs", metrics_state.epochs)
        register_collector("settlement", metrics_state.settlement)

        personal.register(
            personal.Part(
                "rewards",
                personal_parts.files,
                "every reward credit, what each closed epoch allocated you with its Merkle "
                "proof, your vouchers, your clawbacks with what was kept back towards each, "
                "and the parts of your royalties reversed",
            )
        )
        # A closed epoch whose root is not on chain yet is relayed again (idempotent).
        from datadao import sweeper

        def _relay(epoch_id: int) -> None:
            from rewards.tasks import relay_epoch_root

            relay_epoch_root.delay(epoch_id)

        def _unrelayed(cutoff, limit):  # type: ignore[no-untyped-def]
            from rewards.relay import epochs_to_relay

            return epochs_to_relay(closed_before=cutoff, limit=limit)

        sweeper.register(sweeper.Sweep("epoch-relay", _unrelayed, _relay))
