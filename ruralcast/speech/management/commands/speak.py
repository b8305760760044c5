"""`manage.py speak "文本" -o out.mp3`: read a text aloud with the configured engine, for operators."""

import shutil
import sys
import time
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from ruralcast.core.errors import ApplicationError
from ruralcast.speech.engines import engine_input
from ruralcast.speech.services import speech_synthesize, speech_text_prepare


class Command(BaseCommand):
    help = (
        "Synthesise a text as loudspeaker MP3 (cached in media storage) and optionally copy it to a file. "
        "Use --show-text to see how numbers and dates will be read."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("text", help='The text to read, e.g. "明天14:30有暴雨，请拨打110。"; "-" reads stdin.')
        parser.add_argument("-o", "--output", help="Copy the MP3 to this file.")
        parser.add_argument("--language", default="zh-hans", help="Language of the text (default zh-hans).")
        parser.add_argument(
            "--show-text",
            action="store_true",
            help="Only print the normalised text and the pinyin given to espeak-ng; synthesise nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = sys.stdin.read() if options["text"] == "-" else options["text"]
        try:
            if options["show_text"]:
                code, normalized = speech_text_prepare(text=text, language=options["language"])
                self.stdout.write(normalized)
                self.stdout.write(engine_input(normalized, language=code))
                return
            started = time.perf_counter()
            audio = speech_synthesize(text=text, language=options["language"])
            elapsed = time.perf_counter() - started
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if options["output"]:
            with default_storage.open(audio.name, "rb") as source, Path(options["output"]).open("wb") as target:
                shutil.copyfileobj(source, target)
        origin = "from cache" if audio.cached else f"synthesised in {elapsed:.2f} s"
        self.stdout.write(
            self.style.SUCCESS(
                f"{audio.duration:.1f} s of speech, {audio.size / 1024:.1f} KiB at {audio.bitrate // 1000} kbit/s, "
                f"{origin}: {audio.name}" + (f" → {options['output']}" if options["output"] else "")
            )
        )
        self.stdout.write(f"sha256 {audio.sha256}")
