"""The pipeline's lanes: how a contribution's stages are driven, and nothing else.

- ``stages``: one task per stage (large files, and every redelivery the sweeper sends);
- ``express``: every stage of one small file in one delivery;
- ``batch``: many small files claimed, worked and recorded together (PostgreSQL).

All three run the same slow work (``contributions.pipeline``) and record through the same
writer (``services.record.Recorder``); ``tests/contributions/test_lanes_differential.py``
compares their whole record.
"""
