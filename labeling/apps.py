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
        # Item images pinned for a labeling dataset are as visible as the dataset.
        from ipfs import access
        from labeling.selectors import may_read_item_pin

        access.register("labeling:", may_read_item_pin)
