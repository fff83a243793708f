from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.demo import load_demo
from contributions.demo import ensure_demo_kek_keystore, ensure_demo_validator_keystore
from datadao.management.language import LocalizedCommand


class Command(LocalizedCommand):
    help = gettext_lazy(
        "Load the demo DAO, its members and datasets. Idempotent: safe to run on every start."
    )

    def handle(self, *args: object, **options: object) -> None:
        for role, variable in (("validator", "VALIDATOR_KEY"), ("rewards", "REWARD_SIGNER_KEY")):
            keystore = ensure_demo_validator_keystore(role)
            if keystore:
                self.stdout.write(
                    self.style.WARNING(
                        _(
                            "Created a DEMONSTRATION-ONLY %(role)s signer keystore at "
                            "%(keystore)s. "
                            "Never use it for real signatures: set %(variable)s or your "
                            "own keystore."
                        )
                        % {"role": role, "keystore": keystore, "variable": variable}
                    )
                )
        keystore = ensure_demo_kek_keystore()
        if keystore:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "Created a DEMONSTRATION-ONLY data key-encryption keystore at "
                        "%(keystore)s. "
                        "Members-only datasets are encrypted under it: set DATA_KEK or your own "
                        "DATA_KEK_KEYSTORE for real data."
                    )
                    % {"keystore": keystore}
                )
            )
        counts = load_demo()
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Demo ready: {daos} DAO, {members} members, {datasets} datasets, "
                    "{contributions} contributions ({new_contributions} new, processed by the "
                    "worker), {label_tasks} labeling tasks with {labels} simulated labels."
                ).format(**counts)
            )
        )
