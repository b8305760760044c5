"""CAP feed subscriptions: warnings of other alerting authorities fed in as drafts.

An administrator registers a sender's feed (`FeedSubscription`: an Atom/RSS index of CAP messages
or a plain list of URLs) with the regions its messages may target. The poller
(`manage.py feeds_poll`, `feeds.poller`) fetches due feeds with a conditional GET, reads the index,
fetches each new message, checks its XML signature when the subscription pins a certificate, and
drafts it through the one CAP import (`formats.cap`). Every entry read is kept (`FeedEntry`) with
what became of it: imported, duplicate, or refused and why.

The feed is not a person. Its drafts are created by the subscription's own system account
(`FeedSubscription.account`, no password, granted only `alert.draft` on the subscription's
regions), so the existing two-person rule needs two humans: one reviews and submits the draft, a
different one approves it. Nothing a feed brings is ever dispatched on its own.
"""
