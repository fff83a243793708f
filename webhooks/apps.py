from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # The apps emit events through datadao.events in the transaction of their change;
        # this app records them and the deliveries they cause (the outbox).
        from datadao import events
        from webhooks import services

        events.register("webhooks", services.events_record)

        # A lost message or a dead worker delays a delivery, never loses it.
        from datadao.sweeper import Sweep, register

        register(
            Sweep("webhook-deliveries", services.deliveries_stuck, services.delivery_redispatch)
        )

        # A DAO whose endpoint was disabled sees why on its console page.
        from datadao import notices
        from webhooks.selectors import dao_notices

        notices.register("webhooks", dao_notices)
