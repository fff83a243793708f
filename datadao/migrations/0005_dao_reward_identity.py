"""Give every DAO its reward identity (``onchain_id``, the daoId its payloads are signed for)
and one reward contract per (chain, address).

Existing DAOs get a fresh random ``onchain_id`` each. Before the unique (chain, contract) constraint
is added, DAOs that share a reward contract on a chain keep it only for the oldest of them: the
others' address is cleared (they must deploy their own distributor for their ``onchain_id``), and
each clearing is written to the audit log.
"""

import secrets

import django.db.models.functions.text
from django.db import migrations, models

import datadao.models


def _assign_dao_ids(apps, schema_editor):
    DAO = apps.get_model("datadao", "DAO")
    for pk in DAO.objects.filter(onchain_id__isnull=True).values_list("pk", flat=True).iterator():
        DAO.objects.filter(pk=pk).update(onchain_id="0x" + secrets.token_hex(32))


def _unshare_reward_contracts(apps, schema_editor):
    DAO = apps.get_model("datadao", "DAO")
    AuditEvent = apps.get_model("datadao", "AuditEvent")
    owners: dict[tuple[int, str], int] = {}
    rows = (
        DAO.objects.exclude(reward_contract_address="")
        .order_by("created_at", "pk")
        .values_list("pk", "chain_id", "reward_contract_address")
    )
    for pk, chain_id, address in rows.iterator():
        key = (chain_id, address.lower())
        if key not in owners:
            owners[key] = pk
            continue
        DAO.objects.filter(pk=pk).update(reward_contract_address="")
        AuditEvent.objects.create(
            actor=None,
            dao_id=pk,
            verb="dao.reward_contract_cleared",
            object_type="datadao.dao",
            object_id=str(pk),
            details={
                "chain_id": chain_id,
                "reward_contract_address": address,
                "kept_by_dao": owners[key],
                "reason": "another DAO already used this contract on this chain",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("datadao", "0004_dao_epoch_days")]

    operations = [
        migrations.AddField(
            model_name="dao",
            name="onchain_id",
            field=models.CharField(max_length=66, null=True, editable=False, verbose_name="DAO id (daoId)"),
        ),
        migrations.RunPython(_assign_dao_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="dao",
            name="onchain_id",
            field=models.CharField(
                default=datadao.models.new_dao_id,
                editable=False,
                help_text=(
                    "The bytes32 every reward root and voucher is signed for; deploy the DAO's "
                    "DatadaoDistributor with it. Never changes."
                ),
                max_length=66,
                unique=True,
                verbose_name="DAO id (daoId)",
            ),
        ),
        migrations.AddConstraint(
            model_name="dao",
            constraint=models.CheckConstraint(
                condition=models.Q(("onchain_id__regex", "^0x[0-9a-f]{64}$")), name="dao_onchain_id_format"
            ),
        ),
        migrations.AlterField(
            model_name="dao",
            name="reward_contract_address",
            field=models.CharField(
                blank=True,
                default="",
                help_text=(
                    "A DatadaoDistributor deployed with this DAO's id on this chain (empty: none)."
                ),
                max_length=42,
                validators=[datadao.models.validate_checksum_address],
            ),
        ),
        migrations.RunPython(_unshare_reward_contracts, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="dao",
            constraint=models.UniqueConstraint(
                models.F("chain_id"),
                django.db.models.functions.text.Lower("reward_contract_address"),
                condition=models.Q(("reward_contract_address", ""), _negated=True),
                name="dao_reward_contract_unique",
                violation_error_message=(
                    "Another DAO already uses this reward contract on this chain; each DAO "
                    "needs its own DatadaoDistributor, deployed with its DAO id."
                ),
            ),
        ),
    ]
