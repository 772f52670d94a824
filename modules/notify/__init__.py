"""Notifications (issue #6): "N patients ahead of you" and "you are called" by WhatsApp or SMS.

The pure module (:mod:`.module`: subscriptions, phone numbers; enable it with
``[[modules]] use = "notify"``), what is sent and how (:mod:`.deliver`: the outbox's deriver, the
notifiers) and the web part (:mod:`.site`). Only the pure module is imported here.
"""

from __future__ import annotations

from .module import MODULE, InvalidPhone, NotifyModule, NotWaiting, Subscribe, Unsubscribe, mask, normalise_phone

__all__ = [
    "MODULE",
    "InvalidPhone",
    "NotWaiting",
    "NotifyModule",
    "Subscribe",
    "Unsubscribe",
    "mask",
    "normalise_phone",
]
