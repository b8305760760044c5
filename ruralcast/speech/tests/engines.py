"""Engines for the speech tests: real espeak-ng, counted, so a test can tell a cache hit from a miss."""

from ruralcast.speech.engines import EspeakEngine


class CountingEngine(EspeakEngine):
    """The default engine, unchanged, that also counts how often it synthesised."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def synthesize_wav(self, text: str, *, language: str) -> bytes:
        self.calls += 1
        return super().synthesize_wav(text, language=language)


class SlowerCountingEngine(CountingEngine):
    """Another voice setting: the same text must not be served from the other engine's cache."""

    speed = 140


class NotAnEngine:
    """Has no name, version or synthesize_wav: the setting must refuse it."""
