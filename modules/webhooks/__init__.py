"""Signed webhooks (issue #6): the facility's queue events POSTed to subscribed URLs.

:mod:`.module` is the pure part (the subscriptions and the outbox progress, kept in the log),
:mod:`.deliver` derives the messages and sends them signed (and has :func:`~.deliver.verify` for
receivers), :mod:`.site` runs one outbox worker per subscription and serves the admin's endpoints.
Only the pure part is imported here: ``[[modules]] use = "webhooks"`` loads :data:`MODULE`.
"""

from .module import MODULE, WebhooksModule

__all__ = ["MODULE", "WebhooksModule"]
