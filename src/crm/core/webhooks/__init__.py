"""Webhooks: a workspace's events sent, signed, to the URLs its managers subscribe.

:mod:`~crm.core.webhooks.subscriptions` keeps the subscriptions, :mod:`.signing` signs as
Standard Webhooks 1.0 says, :mod:`.safety` decides which addresses may be called,
:mod:`.payload` makes the body of an event, and :mod:`.deliveries` is the bookkeeping of
the worker that sends them (``crm.worker.webhooks``).
"""
