"""Speech: Chinese text → MP3 that village loudspeakers play (emergency alerts read aloud).

Four steps, one module each:

1. `normalize`: numbers, dates, times, temperatures, phone numbers, letters and symbols are written
   out in 汉字 the way an announcer says them (2026年 → 二零二六年, 120毫米 → 一百二十毫米,
   拨打110 → 拨打一一零, -5℃ → 零下五摄氏度); punctuation becomes pause marks.
2. `engines`: a `SpeechEngine` turns the normalised text into WAV. The default, `EspeakEngine`,
   runs espeak-ng's `cmn-latn-pinyin` voice on tone-numbered pinyin from pypinyin.
3. `encoding`: ffmpeg makes a 32 kbit/s mono MP3 (EBM auxiliary type 2), loudness-normalised.
4. `services.speech_synthesize`: the one entry point; caches the MP3 in default storage under
   `speech/<sha256>.mp3`, keyed by engine, voice, text and encoding, so a repeated alert text is
   never synthesised twice. `manage.py speak "文本" -o out.mp3` tries it from a shell.

Plugging in another engine (e.g. a neural Piper voice the operator installs)
---------------------------------------------------------------------------
Write a class with `name`, `version` and `synthesize_wav(text, *, language) -> bytes` anywhere on
the Python path, and name it in the environment: `RURALCAST_SPEECH_ENGINE=mysite.speech.PiperEngine`.
It receives normalised 汉字 (no digits), so it needs no number handling of its own. Put everything
that changes the sound into `version` (for a model, a hash of the file) so that the cache never
serves audio made by the previous voice. For example, with the `piper` command and a Chinese
model downloaded by the operator::

    import hashlib, os, subprocess, tempfile
    from ruralcast.speech.tools import tool_run

    class PiperEngine:
        name = "piper"

        def __init__(self) -> None:
            self.model = os.environ["PIPER_MODEL"]  # e.g. /opt/piper/zh_CN-huayan-medium.onnx
            with open(self.model, "rb") as handle:
                self.version = hashlib.file_digest(handle, "sha256").hexdigest()[:16]

        def synthesize_wav(self, text: str, *, language: str) -> bytes:
            with tempfile.NamedTemporaryFile(suffix=".wav") as out:
                command = ["piper", "--model", self.model, "--output_file", out.name]
                tool_run(command, stdin=text.encode(), tool="piper", timeout=120)
                return out.read()

The engine is created once per process, with no arguments; read its configuration from the
environment. Raise `ruralcast.speech.errors.SpeechUnavailable` when it cannot run (`tool_run`
does) so that callers get a 503, not a 500.
"""
