"""`pipectl backfill`: send objects already in the bucket through the deployed function.

The laptop only lists and dispatches; the work runs on Lambda. One module per step:
`listing` (which objects, side by side per prefix), `existing` (which already have an item),
`records` (the S3-shaped records, the contract with handler/app.py), `dispatch` (asynchronous
Invoke with backoff), `run` (the steps as one streaming pipeline, interruptible and resumable).
"""
