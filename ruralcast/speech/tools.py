"""Running the command-line tools of the speech pipeline (espeak-ng, ffmpeg, ffprobe)."""

import subprocess

from django.utils.translation import gettext as _

from ruralcast.core.media_tools import tool_path
from ruralcast.speech.errors import SpeechUnavailable

__all__ = ["tool_path", "tool_run"]  # tool_path: the one way every app finds a program (core.media_tools)


def tool_run(command: list[str], *, stdin: bytes, tool: str, timeout: float = 60) -> bytes:
    """Run a trusted tool (argument list, never a shell) and return its stdout.

    A missing tool, a timeout or a non-zero exit is a `SpeechUnavailable` naming the tool, with the
    end of its stderr for the operator.
    """
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as error:
        raise SpeechUnavailable(_("%(tool)s is not installed on this server.") % {"tool": tool}) from error
    except subprocess.TimeoutExpired as error:
        raise SpeechUnavailable(_("%(tool)s took too long and was stopped.") % {"tool": tool}) from error
    if done.returncode != 0:
        raise SpeechUnavailable(
            _("%(tool)s failed (exit status %(status)s): %(detail)s")
            % {"tool": tool, "status": done.returncode, "detail": done.stderr.decode(errors="replace")[-300:]}
        )
    return done.stdout
