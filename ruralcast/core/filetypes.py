"""What an uploaded file is, decided once from its first bytes, stored with its row and served as such.

A file's name and the `Content-Type` its uploader's browser sent are claims of the uploader; the
content is what a browser will act on. Uploads that are not media (which ffprobe identifies, see
`media.probe`) are recognised here by their signatures. Anything not recognised is
`application/octet-stream`, which `core.serving` always sends as an attachment.
"""

from typing import IO

OCTET_STREAM = "application/octet-stream"
# Signatures at offset 0 (RIFF and ISO-BMFF containers are told apart below).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"PK\x03\x04", "application/zip"),  # also xlsx, docx, pptx: served as a download either way
)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "video/mp4": "mp4",
    "application/zip": "zip",
    OCTET_STREAM: "bin",
}
HEAD_BYTES = 16


def content_type_sniff(head: bytes) -> str:
    """The content type of a file that starts with `head` (at least its first 16 bytes)."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio frame
        return "audio/mpeg"
    return OCTET_STREAM


def content_type_of_upload(upload: IO[bytes]) -> str:
    """`content_type_sniff` of an open upload, leaving its position at the start."""
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    return content_type_sniff(head)


def extension_for(content_type: str) -> str:
    """The file name extension the platform gives a stored file of this type."""
    return EXTENSIONS.get(content_type, "bin")
