"""What the worker does for a job: transcode an asset, or turn an ended live into its replay.

Runs outside any request, called by `tasks.media_job_run`. Progress goes to the job row as ffmpeg
reports it; a failure is stored as a sentence a person can act on (the ffmpeg detail follows it
for whoever investigates) and the asset is marked failed, so the console offers a retry.

A deliberate writer outside services (CONTRIBUTING.md): the worker moves the job it holds through
its states (running, failed, succeeded) and stores the renditions it made. No person acts here and
no region is chosen, so there is no access to check; the person's act (the upload, the retry) was
checked and audited by its service when the job was queued. The outcomes people rely on are
audited here too: `media.asset_ready` when the renditions are stored, and a replay is created
through `asset_create_from_file` (audited) in the same transaction that links it to its live.
"""

import re
import shutil
import tempfile
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.audit.services import audit_record
from ruralcast.core.media_tools import tool_path
from ruralcast.media import transcode
from ruralcast.media.models import (
    Asset,
    AssetState,
    Job,
    JobKind,
    JobState,
    Kind,
    LiveEvent,
    Origin,
    Rendition,
    RenditionKind,
)
from ruralcast.media.services import (
    AssetFields,
    asset_create_from_file,
    job_progress,
    storage_delete_tree,
    storage_put_tree,
)

_STREAM_INF = re.compile(r"#EXT-X-STREAM-INF:(?P<attrs>.*)\n(?P<uri>[^\n#]+)")


class JobFailed(Exception):
    pass


_REPLAY_TAGS = ("#EXTM3U", "#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXTINF")
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}\.ts$")  # what live ingest stores (services._INGEST_NAME)


def _replay_playlist(text: str, *, segments: set[str]) -> str:
    """The studio's playlist reduced to plain tags and the names of segments it pushed, closed."""
    lines = ["#EXTM3U"]
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(_REPLAY_TAGS[1:]) or (_SEGMENT.match(line) and line in segments):
            lines.append(line)
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def job_run(job_id: int) -> None:
    job = Job.objects.select_related("asset", "live_event").get(pk=job_id)
    if job.state in (JobState.RUNNING, JobState.SUCCEEDED):
        return
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING,
        started_at=timezone.now(),
        attempts=job.attempts + 1,
        progress=0,
        error="",
        error_code="",
    )
    try:
        if job.kind == JobKind.TRANSCODE:
            assert job.asset is not None
            _transcode(job, job.asset)
        else:
            assert job.live_event is not None
            _replay(job, job.live_event)
    except (transcode.FfmpegFailed, JobFailed, OSError) as error:
        detail = error.detail if isinstance(error, transcode.FfmpegFailed) else str(error)
        with transaction.atomic():
            Job.objects.filter(pk=job.pk).update(
                state=JobState.FAILED,
                finished_at=timezone.now(),
                error_code="transcode_failed" if job.kind == JobKind.TRANSCODE else "replay_failed",
                error=f"ffmpeg: {detail.strip()[:1500]}",
            )
            if job.asset_id:
                Asset.objects.filter(pk=job.asset_id).update(state=AssetState.FAILED)
        return
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, progress=100, finished_at=timezone.now(), step="")


def _local_original(asset: Asset, work: Path) -> Path:
    try:
        return Path(default_storage.path(asset.original_name))
    except NotImplementedError:  # a remote store (S3): fetch a working copy
        local = work / "original"
        with default_storage.open(asset.original_name, "rb") as source, local.open("wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        return local


def _transcode(job: Job, asset: Asset) -> None:
    config = transcode.media_settings()
    with tempfile.TemporaryDirectory(prefix="rc-media-", dir=work_root()) as folder:
        work = Path(folder)
        out = work / "out"
        out.mkdir()
        source = _local_original(asset, work)
        renditions: list[Rendition] = []

        def report(percent: float) -> None:
            job_progress(job=job, percent=percent * 0.9, step="transcode")

        if asset.kind == Kind.VIDEO:
            rungs = transcode.ladder_for(asset.height)
            fps = _frame_rate(asset)
            command = transcode.ladder_command(
                source=source,
                out=out,
                rungs=rungs,
                has_audio=bool(asset.audio_codec),
                fps_hint=fps,
                thumbnails=(asset.duration, int(config["THUMBNAILS"])),
            )
            job_progress(job=job, percent=0, step="transcode")
            transcode.run_with_progress(command, duration=asset.duration, report=report)
            renditions += _hls_renditions(asset, out, rungs)
            job_progress(job=job, percent=90, step="images")
            transcode.run(transcode.poster_command(source=source, out=out, at=min(1.0, asset.duration / 2)))
        elif asset.kind == Kind.AUDIO:
            job_progress(job=job, percent=0, step="loudness")
            transcode.run_with_progress(
                transcode.audio_command(source=source, out=out), duration=asset.duration, report=report
            )
            (out / "hls").mkdir()
            shutil.move(str(out / "audio"), str(out / "hls" / "audio"))
            (out / "hls" / "master.m3u8").write_text(
                "#EXTM3U\n#EXT-X-VERSION:3\n"
                f'#EXT-X-STREAM-INF:BANDWIDTH={int(config["AUDIO_KBPS"]) * 1100},CODECS="mp4a.40.2"\n'
                "audio/index.m3u8\n"
            )
            renditions += [
                Rendition(asset=asset, kind=RenditionKind.HLS_MASTER, name="master", path="hls/master.m3u8"),
                Rendition(asset=asset, kind=RenditionKind.HLS_AUDIO, name="audio", path="hls/audio/index.m3u8"),
                Rendition(asset=asset, kind=RenditionKind.MP3, name="mp3", path="audio.mp3", bandwidth=128_000),
                Rendition(asset=asset, kind=RenditionKind.AAC, name="aac", path="audio.m4a"),
            ]
        elif asset.kind == Kind.IMAGE:
            job_progress(job=job, percent=0, step="images")
            transcode.run(transcode.poster_command(source=source, out=out, at=0))
        # documents: nothing to convert; the original is served as it is
        job_progress(job=job, percent=95, step="store")
        storage_delete_tree(prefix=f"{asset.folder}/hls")
        storage_delete_tree(prefix=f"{asset.folder}/thumbs")
        sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in out.rglob("*") if p.is_file()}
        written = storage_put_tree(folder=out, prefix=asset.folder)
        for path in written:
            if path.startswith("thumbs/"):
                renditions.append(Rendition(asset=asset, kind=RenditionKind.THUMBNAIL, name=Path(path).stem, path=path))
            elif path == "poster.jpg":
                renditions.append(Rendition(asset=asset, kind=RenditionKind.POSTER, name="poster", path=path))
        for rendition in renditions:
            rendition.size = sizes.get(rendition.path, 0)
        with transaction.atomic():
            Rendition.objects.filter(asset=asset).delete()
            Rendition.objects.bulk_create(renditions)
            Asset.objects.filter(pk=asset.pk).update(
                state=AssetState.READY, poster_name="poster.jpg" if "poster.jpg" in written else ""
            )
            audit_record(
                actor=None,
                verb="media.asset_ready",
                obj=asset,
                region_code=asset.owner_region_id,
                after={"renditions": sorted(r.path for r in renditions if r.kind != RenditionKind.THUMBNAIL)},
            )


def work_root() -> str | None:
    """Scratch space beside the stored files when they are on local disk (results are then moved
    into place by a rename, not copied); the system's temp folder otherwise."""
    try:
        root = Path(default_storage.path(".work"))
    except NotImplementedError:
        return None
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def _frame_rate(asset: Asset) -> float:
    for stream in asset.probe.get("streams", []):
        if stream.get("codec_type") == "video":
            num, _sep, den = str(stream.get("avg_frame_rate", "25/1")).partition("/")
            try:
                rate = float(num) / float(den or 1)
            except (ValueError, ZeroDivisionError):
                rate = 25.0
            return rate if 1 <= rate <= 120 else 25.0
    return 25.0


def _hls_renditions(asset: Asset, out: Path, rungs: list[transcode.Rung]) -> list[Rendition]:
    """Rows for the master playlist and each variant, read back from what ffmpeg wrote."""
    hls = out / "hls"
    hls.mkdir()
    for entry in list(out.iterdir()):
        if entry.name not in ("hls", "thumbs"):
            shutil.move(str(entry), str(hls / entry.name))
    rows = [Rendition(asset=asset, kind=RenditionKind.HLS_MASTER, name="master", path="hls/master.m3u8")]
    master = (hls / "master.m3u8").read_text()
    for match in _STREAM_INF.finditer(master):
        attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', match.group("attrs")))
        uri = match.group("uri").strip()
        name = uri.split("/")[0]
        width, _x, height = attrs.get("RESOLUTION", "0x0").partition("x")
        rows.append(
            Rendition(
                asset=asset,
                kind=RenditionKind.HLS_VIDEO if "RESOLUTION" in attrs else RenditionKind.HLS_AUDIO,
                name=name,
                path=f"hls/{uri}",
                width=int(width or 0),
                height=int(height or 0),
                bandwidth=int(attrs.get("BANDWIDTH", "0") or 0),
            )
        )
    if len(rows) < 2:
        raise JobFailed(_("ffmpeg wrote no playable rendition."))
    return rows


def _replay(job: Job, event: LiveEvent) -> None:
    """Join the segments the studio pushed (from going live to the end) into one file and make it
    an asset of the event's region, which is then transcoded like an upload."""
    with tempfile.TemporaryDirectory(prefix="rc-replay-") as folder:
        work = Path(folder)
        _folders, files = default_storage.listdir(event.folder)
        playlists = sorted(name for name in files if name.endswith(".m3u8"))
        if not playlists:
            raise JobFailed(_("The studio never sent a playlist."))
        for name in files:
            with default_storage.open(f"{event.folder}/{name}", "rb") as source, (work / name).open("wb") as target:
                shutil.copyfileobj(source, target)
        playlist = work / playlists[0]
        # The studio wrote the playlist: ffmpeg reads only the segments it pushed, rebuilt here from
        # the lines that name one of them (never an absolute path or another file of this server).
        playlist.write_text(_replay_playlist(playlist.read_text(errors="replace"), segments=set(files)))
        job_progress(job=job, percent=10, step="join")
        joined = work / "replay.mp4"
        transcode.run(
            [
                tool_path("ffmpeg"),
                "-v",
                "error",
                "-nostdin",
                "-y",
                "-protocol_whitelist",
                "file",
                "-format_whitelist",
                "hls,mpegts",
                "-i",
                str(playlist),
                "-c",
                "copy",
                "-bsf:a",
                "aac_adtstoasc",
                "-movflags",
                "+faststart",
                str(joined),
            ]
        )
        job_progress(job=job, percent=60, step="store")
        with transaction.atomic():
            asset = asset_create_from_file(
                actor=None,
                owner_region=event.owner_region,
                path=joined,
                filename=f"{event.uid}-replay.mp4",
                fields=AssetFields(
                    title=_("%(title)s (replay)") % {"title": event.title[:180]},
                    description=event.description,
                    tags=["replay"],
                    access=event.access,
                ),
                origin=Origin.LIVE,
            )
            LiveEvent.objects.filter(pk=event.pk).update(replay=asset)
            Job.objects.filter(pk=job.pk).update(asset=asset)
