"""The emergency overlay's push service (issue 17, "Emergency overlay"): what a household screen
is told about the alerts in force for its village, the moment the platform publishes them.

How it learns: each web process holds **one** MQTT subscription to every region topic, as the
platform (its own client id, `rc-push-<host>-<pid>`), and fans what arrives out in-process to the
screens connected to it (`hub`). So any number of web hosts behind nginx each hear every dispatch
from the broker itself, whichever host approved it, and nothing polls the database.

What it shows: only messages the platform itself published and signed. A message on a region topic
is opened exactly as a terminal opens it (`ruralcast_terminal.protocol.open_envelope` against the
platform's own trust list: a broadcast key, signature verified), and a topic carries an alert only
once the dispatcher has published it, which is the step that marks the alert `dispatched`. Its
targets (`areas`) must cover the screen's village by region prefix, as a terminal checks them; a
neighbouring village's alert never reaches a screen. A Cancel, or the cleared retained topic at the
end of the chain, withdraws it; an expired one is dropped at its end.

The screen verifies nothing and decides nothing: it is sent the full list of what is in force for it
(`state.ScreenAlert`) on every change, over Server-Sent Events (`asgi`, `/portal/push/events`) or,
for a browser without EventSource, by a poll every ~10 s (`views.poll`, `/portal/push/poll`).
"""
