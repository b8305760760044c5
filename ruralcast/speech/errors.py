"""Errors of the speech pipeline that are not the user's fault."""

from ruralcast.core.errors import ApplicationError


class SpeechUnavailable(ApplicationError):
    """The speech engine or the encoder failed or is missing: an operator must look, the text was fine.

    503 rather than 500 so that callers (the alert dispatcher) can retry or fall back to a recorded
    message; the message names the tool that failed, never the text's content.
    """

    status_code = 503
    code = "speech_unavailable"
