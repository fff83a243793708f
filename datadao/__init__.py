"""datadao: DAOs, datasets, memberships, wallet users, SIWE auth, audit, console scoping."""
