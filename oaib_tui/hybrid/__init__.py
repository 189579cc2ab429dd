"""`mode: hybrid`: the Batch API first, then flex, then standard realtime, to finish by a deadline at the lowest cost.

The lanes are the existing executors, composed through their public methods:
:class:`~oaib_tui.batch.executor.BatchExecutor` for the batch lane and
:class:`~oaib_tui.engine.realtime.RealtimeExecutor` (with `service_tier: flex`
for the flex lane) for the realtime ones. :mod:`oaib_tui.deadline` decides the lane from
the forecast, :mod:`.gate` makes sure no item is recorded twice, and
:mod:`.executor` runs the plan.
"""
