"""Notifications and the duty roster: who is on duty, paging them, and telling people what happened.

One service carries every message the platform sends to a person: `notify(*, recipients, kind,
params, …)` writes one `Notification` per person (their console inbox) and a `Delivery` per channel
(e-mail, and SMS for urgent pages), sent after the caller's transaction commits and retried by
`manage.py notifications_run`. `duty_page(*, subject_type, subject_id, region, …)` pages the people
on duty for a region (the duty roster: a weekly pattern with tiers and one-off overrides) about
something waiting for them, and escalates tier by tier, then region by region upwards, until
`duty_page_close` is called; an alert awaiting approval uses it, and an imported CAP warning can.

Layer: above accounts and audit, below every operational app. This package imports core, regions,
accounts and audit only; alerts, reporting and maintenance call it (their `paging.py`/`notices.py`).
SMS goes through a pluggable gateway (`RURALCAST_NOTIFY["SMS_GATEWAY"]`); the default is a
log-only STAND-IN: no SMS leaves the machine.
"""
