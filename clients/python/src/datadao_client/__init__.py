"""datadao-client: the Python SDK of a datadao platform. No Django; requests and eth-account.

    from datadao_client import Client, keystore_open

    client = Client("https://data.example.org")
    client.sign_in(keystore_open(path=Path("key.json"), password="…"))
    upload = client.upload(3, Path("readings.csv"))
    print(client.wait_for_contribution(upload.contribution["id"])["status"])

See ``Client`` for every method and clients/python/README.md for a tour; a DAO validator
speaks its own API with ``ValidatorClient``.
"""

from datadao_client.client import Client
from datadao_client.errors import (
    ApiError,
    DatadaoError,
    KeystoreError,
    VerificationError,
    WaitTimeout,
)
from datadao_client.keystore import (
    account_from_key,
    keystore_address,
    keystore_create,
    keystore_open,
    password_from_file,
)
from datadao_client.transport import RetryPolicy
from datadao_client.types import FINAL_STATUSES, ReleaseDownload, ReleaseFile, Upload
from datadao_client.uploads import ownership_message
from datadao_client.validators import ValidatorClient, ValidatorSigner

__version__ = "0.1.0"

__all__ = [
    "FINAL_STATUSES",
    "ApiError",
    "Client",
    "DatadaoError",
    "KeystoreError",
    "ReleaseDownload",
    "ReleaseFile",
    "RetryPolicy",
    "Upload",
    "ValidatorClient",
    "ValidatorSigner",
    "VerificationError",
    "WaitTimeout",
    "account_from_key",
    "keystore_address",
    "keystore_create",
    "keystore_open",
    "ownership_message",
    "password_from_file",
]
