"""Tie each SIWE nonce to the address and chain it was issued for.

Nonces issued before this migration (at most SIWE_NONCE_TTL_SECONDS old) get an empty address
and chain 0, which no message can name, so they can no longer be used: their holders ask for a
new one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("datadao", "0005_dao_reward_identity"),
    ]

    operations = [
        migrations.AddField(
            model_name="siwenonce",
            name="address",
            field=models.CharField(
                default="", help_text="EIP-55 address it was issued for.", max_length=42
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="siwenonce",
            name="chain_id",
            field=models.PositiveBigIntegerField(default=0, help_text="Chain it was issued for."),
            preserve_default=False,
        ),
    ]
