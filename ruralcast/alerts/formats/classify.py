"""Which national emergency-event code (data/alerts/event-types.csv) a CAP `info` block describes.

Senders classify their events in many vocabularies; we read, in this order, the first that gives a
code in our table:
1. a national code: `eventCode` (or `parameter`) `EBM-EventType`, `CN-EventType` or `GB/T 35561`
   (the 5-character code of GB/T 35561 突发事件分类与编码, e.g. `11A01`);
2. a US SAME event code (`eventCode` `SAME`, as NWS and FEMA IPAWS write it, e.g. `FLW`);
3. a Canadian CAP-CP event (`eventCode` `profile:CAP-CP:Event:0.4`, e.g. `flood`);
4. words of `event` (and of those codes' values), Chinese or English (洪水 / "Flood Warning").
`category` alone never classifies a Met, Geo, Env, Safety, Rescue, Infra, CBRNE or Other event
(Met covers floods, typhoons and heat alike; the old fallback 11B00 filed floods as
meteorological): those messages are *unclassified* and an operator picks the code before the draft
can be submitted. Only the categories that are one national category on their own give its generic
code: Health → 30000, Security → 40000, Fire → 11G00, Transport → 21B00.

`classify` returns the code ("" when unclassified) and a short record of what decided it (or what
was tried), shown on the draft page and kept in the import record.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ruralcast.alerts.events import event_types

NATIONAL_SCHEMES = {"ebm-eventtype", "cn-eventtype", "gb/t35561", "gbt35561", "gb/t35561-2017"}
SAME_SCHEMES = {"same", "same-code", "nws-same"}
_CAP_CP = re.compile(r"^profile:cap-cp:event(:[\d.]+)?$")

SAME_CODES = {
    "FFW": "11A03",
    "FFA": "11A03",
    "FFS": "11A03",
    "FLW": "11A01",
    "FLA": "11A01",
    "FLS": "11A01",
    "CFW": "11E00",
    "CFA": "11E00",
    "SSW": "11E00",
    "SSA": "11E00",
    "TSW": "11E00",
    "TSA": "11E00",
    "SMW": "11E00",
    "HUW": "11B01",
    "HUA": "11B01",
    "HLS": "11B01",
    "TRW": "11B01",
    "TRA": "11B01",
    "SVR": "11B14",
    "SVA": "11B14",
    "SVS": "11B14",
    "TOR": "11B00",
    "TOA": "11B00",
    "WSW": "11B04",
    "WSA": "11B04",
    "BZW": "11B04",
    "HWW": "11B06",
    "HWA": "11B06",
    "EWW": "11B06",
    "DSW": "11B07",
    "EQW": "11C00",
    "VOW": "11D00",
    "AVW": "11D00",
    "AVA": "11D00",
    "FRW": "11G00",
    "HMW": "21D00",
    "NUW": "21E00",
    "RHW": "21E00",
    "BHW": "30000",
    "CAE": "40000",
    "LEW": "40000",
}
# Words of `event` (and of SAME/CAP-CP values), most specific first.
_WORDS_ZH = [
    ("山洪", "11A03"),
    ("风暴潮", "11E00"),
    ("海啸", "11E00"),
    ("海浪", "11E00"),
    ("洪水", "11A01"),
    ("洪涝", "11A01"),
    ("汛", "11A01"),
    ("干旱", "11A02"),
    ("台风", "11B01"),
    ("暴雨", "11B03"),
    ("暴雪", "11B04"),
    ("寒潮", "11B05"),
    ("沙尘", "11B07"),
    ("高温", "11B09"),
    ("雷电", "11B14"),
    ("雷雨", "11B14"),
    ("冰雹", "11B15"),
    ("霜冻", "11B16"),
    ("大雾", "11B17"),
    ("霾", "11B19"),
    ("道路结冰", "11B21"),
    ("森林火险", "11B25"),
    ("大风", "11B06"),
    ("地震", "11C00"),
    ("滑坡", "11D01"),
    ("泥石流", "11D02"),
    ("崩塌", "11D03"),
    ("地质灾害", "11D00"),
    ("火灾", "11G00"),
    ("溃坝", "21F00"),
    ("辐射", "21E00"),
    ("核事故", "21E00"),
    ("污染", "21D00"),
    ("疫情", "31A00"),
    ("恐怖", "41A00"),
    ("走失", "40000"),
    ("失踪", "40000"),
]
_WORDS_EN = [
    ("flash flood", "11A03"),
    ("storm surge", "11E00"),
    ("coastal flood", "11E00"),
    ("tsunami", "11E00"),
    ("flood", "11A01"),
    ("drought", "11A02"),
    ("typhoon", "11B01"),
    ("hurricane", "11B01"),
    ("tropical", "11B01"),
    ("rainstorm", "11B03"),
    ("heavy rain", "11B03"),
    ("rainfall", "11B03"),
    ("blizzard", "11B04"),
    ("snow", "11B04"),
    ("winter storm", "11B04"),
    ("cold wave", "11B05"),
    ("dust", "11B07"),
    ("sandstorm", "11B07"),
    ("heat", "11B09"),
    ("thunderstorm", "11B14"),
    ("lightning", "11B14"),
    ("hail", "11B15"),
    ("frost", "11B16"),
    ("fog", "11B17"),
    ("haze", "11B19"),
    ("icing", "11B21"),
    ("tornado", "11B00"),
    ("gale", "11B06"),
    ("wind", "11B06"),
    ("earthquake", "11C00"),
    ("seismic", "11C00"),
    ("landslide", "11D01"),
    ("debris flow", "11D02"),
    ("mudslide", "11D02"),
    ("rockfall", "11D03"),
    ("avalanche", "11D00"),
    ("volcan", "11D00"),
    ("wildfire", "11G00"),
    ("forest fire", "11G00"),
    ("fire", "11G00"),
    ("dam failure", "21F00"),
    ("nuclear", "21E00"),
    ("radiolog", "21E00"),
    ("hazmat", "21D00"),
    ("hazardous material", "21D00"),
    ("chemical", "21D00"),
    ("epidemic", "31A00"),
    ("outbreak", "31A00"),
    ("terror", "41A00"),
    ("child abduction", "40000"),
    ("amber", "40000"),
    ("missing person", "40000"),
    ("homeland security", "40000"),
]
CATEGORY_CODES = {"Health": "30000", "Security": "40000", "Fire": "11G00", "Transport": "21B00"}


@dataclass(frozen=True)
class Classification:
    code: str  # "" when unclassified
    source: str  # what decided it, or what was tried (kept as data, shown as it is)


def scheme(value_name: str) -> str:
    """A valueName compared without case and spaces (`GB/T 35561` → `gb/t35561`)."""
    return value_name.lower().replace(" ", "")


def _words(text: str) -> str:
    # camelCase CAP-CP values (`stormSurge`) and SAME-style words as lower-case words.
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).lower()


def from_words(text: str) -> str:
    """The code the words of `text` name ("" if none)."""
    for word, code in _WORDS_ZH:
        if word in text:
            return code
    lowered = _words(text)
    for word, code in _WORDS_EN:
        if re.search(rf"\b{re.escape(word)}", lowered):
            return code
    return ""


def classify(
    *, event: str, category: str, codes: Iterable[tuple[str, str]], parameters: Iterable[tuple[str, str]]
) -> Classification:
    """The national code of an info block from its `event`, `category`, `eventCode` and `parameter`
    pairs (valueName, value). A national code not in our table is returned as it is (the caller
    refuses it, naming it)."""
    pairs = [(scheme(name), name, value.strip()) for name, value in [*codes, *parameters]]
    for key, name, value in pairs:
        if key in NATIONAL_SCHEMES:
            return Classification(value, f"{name}={value}")
    for key, name, value in pairs:
        if key in SAME_SCHEMES and value.upper() in SAME_CODES:
            return Classification(SAME_CODES[value.upper()], f"{name}={value}")
    for key, name, value in pairs:
        if _CAP_CP.match(key) and from_words(value):
            return Classification(from_words(value), f"{name}={value}")
    if from_words(event):
        return Classification(from_words(event), f"event={event}")
    if category in CATEGORY_CODES and CATEGORY_CODES[category] in event_types():
        return Classification(CATEGORY_CODES[category], f"category={category}")
    tried = [f"category={category}", f"event={event}", *(f"{name}={value}" for _key, name, value in pairs)]
    return Classification("", "; ".join(t for t in tried if not t.endswith("=")))
