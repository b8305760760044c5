"""Where a terminal's sound goes: the pluggable audio sinks of the agent.

The agent decides *what* plays and *when* (priority, pre-emption, cancel); a sink only plays one
`Playback` and must stop at once when its `play` coroutine is cancelled — that is how a Cancel or a
more urgent alert cuts the loudspeaker off.

- `NullSink`: plays nothing (virtual terminals); can take the alert's real duration to let tests and
  simulations see pre-emption.
- `FileSink`: appends one JSON line per event (start, drill notice, end, stopped) with timestamps to a
  file — what a device would have played, for tests, demos and audits.
- `CommandSink`: runs a real player per repetition (`ffplay -nodisp -autoexit -loglevel error {file}`
  by default, or `aplay {file}` / `mpg123 -q {file}`), wrapping drills in a spoken "演练" notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Players that start at an offset with `-ss <seconds>` (others play a resumed programme from its start).
SEEKING_PLAYERS = ("ffplay", "ffmpeg")
DEFAULT_PLAYER = ("ffplay", "-nodisp", "-autoexit", "-loglevel", "error", "-volume", "{volume}", "{file}")
# Spoken with espeak-ng's Mandarin pinyin voice (the plain `cmn` voice misreads characters):
# "演练，以下是演练信息" before a drill and "演练结束" after it.
DRILL_INTRO_PINYIN = "yan3 lian4, yi3 xia4 shi4 yan3 lian4 xin4 xi1"
DRILL_OUTRO_PINYIN = "yan3 lian4 jie2 shu4"


class PlaybackError(Exception):
    """The sink could not play (missing audio, the player failed)."""


@dataclass(frozen=True)
class Spoken:
    """One more language of a multilingual alert, played after the Playback's own in each play."""

    language: str
    title: str = ""
    text: str = ""
    audio: Path | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Playback:
    """One alert to sound, as the agent hands it to a sink."""

    ebm_id: str
    title: str = ""
    text: str = ""
    language: str = ""  # of title, text and audio
    audio: Path | None = None  # a verified file in the agent's cache; None when the alert has no audio
    sha256: str = ""
    mime: str = ""
    seconds: float = 0.0  # length of one play of the audio, from the payload (0 if unknown)
    volume: int = 100
    repeat: int = 1
    severity: int = 4
    drill: bool = False  # status other than Actual, or drill: true — announce as a drill
    preamble: Path | None = None  # the drill preamble the platform signed (a verified file), played first
    offset: float = 0.0  # seconds of the audio already played (a resumed programme continues there)
    more: tuple[Spoken, ...] = ()  # further languages chosen (languages.py), played after this one

    @property
    def remaining(self) -> float:
        """Seconds left to play (all repetitions and languages, minus `offset`)."""
        one = self.seconds + sum(item.seconds for item in self.more)
        return max(one * self.repeat - self.offset, 0.0)

    @property
    def languages(self) -> list[str]:
        return [self.language, *(item.language for item in self.more)] if self.language else []

    def describe(self) -> dict[str, Any]:
        return {
            "ebm_id": self.ebm_id,
            "title": self.title,
            "audio": str(self.audio) if self.audio else None,
            "sha256": self.sha256,
            "volume": self.volume,
            "repeat": self.repeat,
            "severity": self.severity,
            "drill": self.drill,
            **({"preamble": str(self.preamble)} if self.preamble else {}),
            **({"offset": round(self.offset, 3)} if self.offset else {}),
            **({"languages": self.languages} if self.more else {}),
        }


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


class AudioSink:
    """Base class: `play` sounds one playback to its end, or stops when cancelled."""

    async def play(self, item: Playback) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


@dataclass
class NullSink(AudioSink):
    """Plays nothing. With `realtime`, takes as long as the audio would (seconds × repeat ÷ speed)."""

    realtime: bool = False
    speed: float = 1.0
    played: int = 0

    async def play(self, item: Playback) -> None:
        if self.realtime and item.seconds > 0:
            await asyncio.sleep(item.remaining / self.speed)
        self.played += 1


@dataclass
class FileSink(AudioSink):
    """Records what would be played as JSON lines in `path` (and in `events`)."""

    path: Path
    realtime: bool = False
    speed: float = 1.0
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _write(self, event: str, item: Playback) -> None:
        record = {"at": _now(), "event": event, **item.describe()}
        self.events.append(record)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    async def play(self, item: Playback) -> None:
        if item.preamble is not None:
            self._write("preamble", item)
        elif item.drill:
            self._write("drill_notice", item)
        self._write("start", item)
        try:
            if self.realtime and item.seconds > 0:
                await asyncio.sleep(item.remaining / self.speed)
        except asyncio.CancelledError:
            self._write("stopped", item)
            raise
        self._write("end", item)
        if item.drill:
            self._write("drill_notice", item)


class CommandSink(AudioSink):
    """Runs an external player once per repetition; a cancel terminates it at once.

    `command` is an argument list; `{file}` is replaced by the audio file and `{volume}` by the
    alert's volume (0–100). A drill is wrapped in `drill_intro` / `drill_outro` sound files; give
    `notice_dir` instead to have them spoken once by espeak-ng (when installed) and cached there.
    Alerts without audio fail (`PlaybackError`) unless `text_command` is set (e.g.
    `["espeak-ng", "-v", "cmn", "{text}"]`), which then speaks the text.
    """

    def __init__(
        self,
        command: Sequence[str] = DEFAULT_PLAYER,
        *,
        drill_intro: Path | None = None,
        drill_outro: Path | None = None,
        notice_dir: Path | None = None,
        text_command: Sequence[str] | None = None,
        stop_grace: float = 1.0,
    ) -> None:
        if not command:
            raise ValueError("CommandSink needs a player command")
        self.command = list(command)
        self.text_command = list(text_command) if text_command else None
        self.drill_intro, self.drill_outro = drill_intro, drill_outro
        self.notice_dir = notice_dir
        self.stop_grace = stop_grace

    async def _run(self, argv: list[str]) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise PlaybackError(f"cannot start {argv[0]}: {exc}") from exc
        try:
            _, err = await proc.communicate()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), self.stop_grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
            raise
        if proc.returncode:
            tail = err.decode("utf-8", "replace").strip()[-200:]
            raise PlaybackError(f"{argv[0]} exited with {proc.returncode}: {tail}")

    def _argv(self, template: list[str], *, file: Path | None = None, text: str = "", volume: int = 100) -> list[str]:
        values = {"file": str(file) if file else "", "volume": str(volume), "text": text}
        return [arg.format(**values) for arg in template]

    async def _notices(self) -> tuple[Path | None, Path | None]:
        if (self.drill_intro and self.drill_outro) or self.notice_dir is None:
            return self.drill_intro, self.drill_outro
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            return self.drill_intro, self.drill_outro
        self.notice_dir.mkdir(parents=True, exist_ok=True)
        made = []
        for name, pinyin in (("drill-intro.wav", DRILL_INTRO_PINYIN), ("drill-outro.wav", DRILL_OUTRO_PINYIN)):
            target = self.notice_dir / name
            if not target.exists():
                try:
                    await self._run([espeak, "-v", "cmn-latn-pinyin", "-w", str(target), pinyin])
                except PlaybackError as exc:
                    log.warning("cannot synthesise the drill notice: %s", exc)
                    return self.drill_intro, self.drill_outro
            made.append(target)
        self.drill_intro = self.drill_intro or made[0]
        self.drill_outro = self.drill_outro or made[1]
        return self.drill_intro, self.drill_outro

    async def play(self, item: Playback) -> None:
        intro, outro = await self._notices() if item.drill else (None, None)
        if item.preamble is not None:
            intro = item.preamble  # the platform's signed preamble comes before any local notice
        if item.drill and intro is None:
            log.warning("%s is a drill but no drill notice is configured", item.ebm_id)
        if intro is not None:
            await self._run(self._argv(self.command, file=intro, volume=item.volume))
        for _ in range(max(1, item.repeat)):
            if item.audio is not None:
                argv = self._argv(self.command, file=item.audio, volume=item.volume)
                if item.offset > 0 and Path(argv[0]).name in SEEKING_PLAYERS:
                    argv[1:1] = ["-ss", f"{item.offset:.3f}"]  # a resumed programme continues where it stopped
                await self._run(argv)
            elif self.text_command is not None:
                await self._run(self._argv(self.text_command, text=f"{item.title}。{item.text}", volume=item.volume))
            else:
                raise PlaybackError("the alert has no audio and no text player is configured")
            for spoken in item.more:  # the further languages chosen, in preference order
                if spoken.audio is not None:
                    await self._run(self._argv(self.command, file=spoken.audio, volume=item.volume))
                elif self.text_command is not None:
                    text = f"{spoken.title}。{spoken.text}"
                    await self._run(self._argv(self.text_command, text=text, volume=item.volume))
                else:
                    log.warning("%s: no audio in %s and no text player; skipped", item.ebm_id, spoken.language)
        if outro is not None:
            await self._run(self._argv(self.command, file=outro, volume=item.volume))


def sink_from_config(spec: dict[str, Any] | str | None, *, cache_dir: Path) -> AudioSink:
    """Build a sink from the provisioning file's `sink` entry.

    `"null"`, `{"type": "null", "realtime": false}`, `{"type": "file", "path": "played.jsonl",
    "realtime": true}` (path relative to the cache dir), `{"type": "command", "command": [...],
    "drill_intro": "...", "drill_outro": "...", "text_command": [...]}` (without drill files the
    notices are spoken by espeak-ng into the cache dir).
    """
    if spec is None:
        spec = {"type": "null"}
    if isinstance(spec, str):
        spec = {"type": spec}
    kind = spec.get("type", "null")
    if kind == "null":
        return NullSink(realtime=bool(spec.get("realtime", False)), speed=float(spec.get("speed", 1.0)))
    if kind == "file":
        path = Path(spec.get("path", "played.jsonl"))
        return FileSink(
            path if path.is_absolute() else cache_dir / path,
            realtime=bool(spec.get("realtime", True)),
            speed=float(spec.get("speed", 1.0)),
        )
    if kind == "command":
        intro, outro = spec.get("drill_intro"), spec.get("drill_outro")
        return CommandSink(
            spec.get("command") or DEFAULT_PLAYER,
            drill_intro=Path(intro) if intro else None,
            drill_outro=Path(outro) if outro else None,
            notice_dir=cache_dir / "notices",
            text_command=spec.get("text_command"),
        )
    raise ValueError(f"unknown sink type {kind!r} (null, file or command)")
