"""Notifications to the person: an outbox of email messages queued on identity events, sent in the background."""
