from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"

    def ready(self) -> None:
        # Lost messages (a flushed broker, a killed worker) delay labeling work, never lose
        # it: the database says what is unfinished and the sweeper dispatches it again.
        from datadao.sweeper import Sweep, register
        from labeling import sweeps

        register(Sweep("label-consensus", sweeps.tasks_waiting, sweeps.redispatch_task))
        register(Sweep("consensus-runs", sweeps.runs_stuck, sweeps.redispatch_run))
        register(Sweep("label-imports", sweeps.imports_stuck, sweeps.redispatch_import))
        register(
            Sweep("prediction-runs", sweeps.prediction_runs_stuck, sweeps.redispatch_prediction_run)
        )
        # Item images pinned for a labeling dataset are as visible as the dataset.
        from datadao import cards
        from ipfs import access
        from labeling.selectors import card_fill_items, may_read_item_pin

        # A dataset's card on its DAO's page: its items and how many are settled.
        cards.register(cards.CardPart("labeling", fill=card_fill_items))

        access.register("labeling:", may_read_item_pin)
        # Consent withdrawn: the items made from the data are listed, closed, never exported.
        from contributions import derived
        from labeling import withdrawn

        derived.register(
            derived.Derivation("labeling", listed=withdrawn.listed, exclude=withdrawn.exclude)
        )
        # A person's export holds every label they gave.
        from datadao import personal
        from labeling import personal_parts

        personal.register(
            personal.Part("labeling", personal_parts.files, "every label you gave (labels.jsonl)")
        )
        # A pinned labeling upload becomes items to label; releases list the settled labels;
        # the dataset page shows the labeling summary.
        from contributions import kinds
        from labeling.export import release_entry
        from labeling.selectors import page_summary
        from labeling.services import tasks_from_contribution

        kinds.register(
            "labeling",
            kinds.KindHooks(
                on_pinned=lambda contribution, path: tasks_from_contribution(
                    contribution=contribution, path=path
                ),
                release_entry=lambda dataset_id, pin_label: release_entry(
                    dataset_id, pin_label=pin_label
                ),
                page_summary=page_summary,
            ),
        )
