"""The contributor's command-line client (``datadao``): sign in with a wallet keystore, upload
signed files, follow them to a final state, and manage keystores.

It talks to a datadao server over HTTP only and imports no Django: a contributor installs it
with ``pip install .`` (two dependencies: requests and eth-account) and needs none of the
server's settings.
"""
