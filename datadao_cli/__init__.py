"""The contributor's command-line client (``datadao``): sign in with a wallet keystore, upload
signed files, follow them to a final state, and manage keystores.

Every request goes through the Python SDK (``datadao_client``, clients/python/): the command
line adds files in batches, progress lines and the summary. No Django: a contributor installs
it with ``pip install .`` (the SDK comes with it; two dependencies: requests and eth-account)
and needs none of the server's settings.
"""
