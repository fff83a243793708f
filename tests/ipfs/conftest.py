from tests.fixtures_ipfs import *  # noqa: F403
