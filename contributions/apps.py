from django.apps import AppConfig


class ContributionsConfig(AppConfig):
    name = "contributions"

    def ready(self) -> None:
        # The sweeper re-dispatches contributions stuck in an active state (a lost message).
        from contributions import sealed, selectors, services
        from contributions.services import inflight, keyrotation, queries, withdrawal
        from datadao.dispatch import send
        from datadao.sweeper import Purge, Sweep, register, register_purge
        from ipfs import access, unseal

        register(
            Sweep(
                name="contributions",
                find_stuck=services.contributions_stuck,
                dispatch=services.contribution_redispatch,
            )
        )
        # A key rotation whose message was lost goes on where it stopped.
        register(
            Sweep(
                name="key-rotations",
                find_stuck=keyrotation.key_rotations_stuck,
                dispatch=lambda pk: send("contributions.tasks.rotate_data_keys", pk),
            )
        )
        # A withdrawn contribution whose unpin message was lost is unpinned again.
        register(
            Sweep(
                name="withdrawn-pins",
                find_stuck=withdrawal.withdrawn_pins_stuck,
                dispatch=lambda pk: send("contributions.tasks.unpin_withdrawn", pk),
            )
        )
        # Aggregate queries queued and not run (a lost message) run again; DAO members may
        # query their releases (``contributions.query_access``).
        register(
            Sweep(
                name="release-queries",
                find_stuck=queries.release_queries_stuck,
                dispatch=lambda pk: send("contributions.tasks.run_release_query", pk),
            )
        )
        from contributions import metrics_state as contribution_metrics
        from contributions import personal_parts as contribution_parts
        from contributions import query_access
        from datadao.metrics import register_collector

        register_collector("contributions", contribution_metrics.by_status)
        from datadao import personal

        personal.register(
            personal.Part(
                "contributions",
                contribution_parts.files,
                "every contribution with its scores and signed proof, the files as you sent "
                "them (decrypted), your consent withdrawals and queries",
            )
        )

        query_access.register("member", queries.member_policy)
        # A request removes its staged upload on every exit; these remove what a process that
        # died mid-request left (the file, and its bytes-in-flight row).
        register_purge(
            Purge(name="uploads-staging", run=lambda now: inflight.staging_purge(now=now))
        )
        register_purge(
            Purge(
                name="uploads-in-flight",
                run=lambda now: inflight.uploads_in_flight_purge(now=now),
            )
        )
        # Plaintext copies a killed worker left in the private directory.
        register_purge(
            Purge(name="unsealed-copies", run=lambda now: sealed.clear_stale(now.timestamp()))
        )
        # /ipfs/<cid> serves a members-only dataset's bytes to its members only.
        access.register("contribution:", selectors.may_read_contribution_pin)
        access.register("release:", selectors.may_read_release_pin)
        unseal.register("contribution:", selectors.unseal_contribution_pin)
        unseal.register("release:", selectors.unseal_release_pin)
        # A dataset's card on its DAO's page: its latest release and pinned contributions.
        from datadao import cards

        cards.register(
            cards.CardPart(
                "contributions",
                annotate=selectors.card_with_latest_release,
                fill=selectors.card_fill_pinned,
            )
        )
        # Releases that load anywhere: a Parquet shard, a dataset card and a Croissant file
        # pinned beside a public release's manifest; a withdrawal unpins the shards holding
        # the withdrawn rows.
        from contributions import derived, extras, hf_release

        extras.register(
            extras.Extra(
                name="huggingface",
                release_entries=hf_release.release_entries,
                entry_cids=hf_release.entry_cids,
                release_template="contributions/release_huggingface.html",
            )
        )
        derived.register(
            derived.Derivation(
                name="release shards",
                listed=hf_release.shards_listing,
                exclude=hf_release.shards_exclude,
            )
        )
