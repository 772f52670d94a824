"""Outboxes: deliveries derived from the facility's log, in order, with retries and recorded progress.

Integrations (the BPJS bridge, webhooks, notifications) share this machinery: :mod:`.progress`
(pure: the progress events and state, kept in the log) and :mod:`.worker` (the delivery loop).
"""
