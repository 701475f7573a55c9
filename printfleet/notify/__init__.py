"""Notifications and mail: the scan that fills the outbox, the dispatcher and its channels."""
