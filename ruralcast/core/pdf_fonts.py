"""The Chinese font every PDF the platform writes (proof of broadcast, circulars) is set in.

WenQuanYi Micro Hei from the Debian package fonts-wqy-microhei (`make run` and `make test` install
it), registered once with reportlab and embedded as a subset, so the PDFs carry a real text layer
that can be searched and extracted.
"""

from pathlib import Path

from django.utils.translation import gettext as _

from ruralcast.core.errors import ServiceUnavailable

CJK_FONT_NAME = "WenQuanYiMicroHei"
CJK_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
)


def cjk_font() -> str:
    """The reportlab font name to use, registering the font on first use."""
    # Imported on the first PDF: reportlab takes a while to import and most processes never draw one.
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if CJK_FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return CJK_FONT_NAME
    for path in CJK_FONT_PATHS:
        if path.exists():
            pdfmetrics.registerFont(TTFont(CJK_FONT_NAME, str(path), subfontIndex=0))
            return CJK_FONT_NAME
    raise ServiceUnavailable(_("The Chinese font for PDF files is missing (install fonts-wqy-microhei)."))
