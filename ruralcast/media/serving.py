"""What each file of an asset or a live is served as (core.serving does the serving).

Two kinds of files: those the platform wrote itself (HLS playlists and segments, MP3/AAC
renditions, JPEG posters and thumbnails), whose names the pipeline chose and whose type follows
from them; and the uploaded original, whose type follows from what the probe found when it was
stored (`Asset.kind`, `Asset.video_codec`), never from the uploader's file name. Live segments come
from the studio under names the ingest checked (`*.m3u8`, `*.ts`).
"""

from ruralcast.core.filetypes import OCTET_STREAM
from ruralcast.core.serving import StoredFile
from ruralcast.media.models import Asset, Kind

# Files the pipeline and the live ingest write, by the suffix they give them.
PLATFORM_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp3": "audio/mpeg",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}
# Still-image codecs the probe recognises (media.probe.IMAGE_CODECS) and what a browser gets.
IMAGE_TYPES = {
    "png": "image/png",
    "mjpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "jpeg2000": "image/jp2",
}


def platform_file(name: str, path: str) -> StoredFile:
    """A file the pipeline or the live ingest wrote at `path` (relative to the asset's folder)."""
    suffix = "." + path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    return StoredFile(name=name, content_type=PLATFORM_TYPES.get(suffix, OCTET_STREAM))


def original_file(asset: Asset) -> StoredFile:
    """The uploaded original: a picture inline as the image type its codec is; a PDF, a video or an
    audio original as a download under the uploader's file name."""
    if asset.kind == Kind.IMAGE:
        content_type = IMAGE_TYPES.get(asset.video_codec, OCTET_STREAM)
    elif asset.kind == Kind.DOCUMENT:
        content_type = "application/pdf"
    else:
        content_type = OCTET_STREAM
    download = asset.original_filename or f"{asset.uid}-original"
    return StoredFile(
        name=asset.original_name, content_type=content_type, download_name=download, attachment=asset.kind != Kind.IMAGE
    )
