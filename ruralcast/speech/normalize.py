"""Text normalisation for Mandarin speech: write every number, date, time and symbol out in 汉字.

A speech engine reads characters, not meaning: "2026年" must become 二零二六年 (a year is read digit by
digit) but "120毫米" must become 一百二十毫米 (a quantity is read as a number), and "110" after 拨打 is
a telephone number read digit by digit. This module makes those decisions once, before any engine
sees the text, so every engine (espeak-ng or a neural voice an operator installs) says the same
words. The functions are pure and fast; `normalize_zh` is the entry point.

Rules, applied in this order (each test in tests/test_normalize.py names one):

1. Full-width ASCII (１２：３０，ＡＢＣ) becomes half-width; unit abbreviations after a number (mm, km/h,
   m/s, °C) become Chinese units.
2. Dates: 2026-11-27, 2026/11/27 and 2026.11.27 become 二零二六年十一月二十七日; exactly four digits
   before 年 are a year, read digit by digit (二零二六年); fewer are a count of years (3年 → 三年).
3. Telephone numbers with an area code (0855-1234567, 400-123-4567) are read digit by digit, the
   groups separated by a short pause.
4. Times: 14:30 → 十四点三十分, 8:05 → 八点零五分, 14:00 → 十四点整 (but 18:00前 → 十八点前), seconds
   → 秒; hour 2 is 两点.
5. Temperatures: -5℃ → 零下五摄氏度, -5~3℃ → 零下五到三摄氏度 (a minus before a temperature is 零下).
6. Percentages: 80% → 百分之八十, 2.5‰ → 千分之二点五.
7. Ranges: 6-8级 → 六到八级, 50~80毫米 → 五十到八十毫米; list items "1." / "1、" → 一、; a remaining
   minus before a number is 负.
8. Numbers: decimals are read with 点 (3.5 → 三点五); a number followed by a unit or measure word
   (米, 人, 元, 万, 个 ...) is a quantity (12000人 → 一万二千人); without a unit, a string of five or
   more digits, a number starting with 0, a number after 电话/拨打/热线/号码, and the emergency numbers
   110, 119, 120, 122 are read digit by digit (12345 → 一二三四五, 110 → 一一零); other numbers are
   quantities. A lone 2 before a measure word is 两 (2个 → 两个), except as an ordinal (第2个).
9. Latin letters are spelled with their usual Chinese names (PM → 皮艾姆), so a Mandarin voice never
   tries to read English.
10. Punctuation becomes the Chinese pause marks ，。！？；：、 that every Mandarin voice pauses on;
    brackets, quotes and other symbols are dropped; line breaks end a sentence.

The digit 1 is read 一 (yī), not 幺 (yāo). 幺 is the radio and telephone convention that keeps 1 and 7
apart on a bad line; on a village loudspeaker 一 is what every listener expects, and the issue asked
for 一一零. `DIGIT_NAMES` is the one place to change that.
"""

import re
import unicodedata


def _words(text: str) -> list[str]:
    return text.split()


# The one table for digit-by-digit reading; DIGIT_NAMES[1] is 一 (see the module docstring for 幺).
DIGIT_NAMES = "零一二三四五六七八九"

# Pause marks every Mandarin voice understands (a run of marks keeps the longest pause).
PAUSE_MARKS = "。！？；：，、"

# Unit and measure words: a number directly followed by one of these is a quantity, never a phone
# number. Longest first so that 毫米 wins over 米.
_UNITS = sorted(
    _words(
        """
        毫米 厘米 分米 公里 千米 米 平方公里 平方米 平方 立方米 立方 公顷 亩 毫升 升 公斤 千克 克 吨 斤 两 里
        元 块 角 万 亿 千 百 人 户 名 位 个 只 头 匹 辆 座 间 栋 幢 所 家 处 条 起 次 场 趟 班 批 天 日 号 周
        月 年 小时 时 分钟 分 秒 度 摄氏度 级 倍 岁 层 套 台 架 艘 株 棵 箱 袋 件 份 张 本 组 支 片 余 多 左右
        以上 以下 以内 至 到 点 辆次 人次 毫米每小时 米每秒 千米每小时 公里每小时 千瓦 瓦 赫兹
        """
    ),
    key=len,
    reverse=True,
)
_UNIT_RE = "|".join(re.escape(u) for u in _UNITS)

# Words after which a bare number is a telephone number (拨打12345, 电话 0855…).
_PHONE_CUES = ("电话", "拨打", "致电", "热线", "号码", "手机", "联系", "呼叫", "报警", "急救")
# Numbers read digit by digit even though they are short: the national emergency lines.
_EMERGENCY_NUMBERS = frozenset({"110", "119", "120", "122", "999"})
# Measure words after which a lone 2 is 两 (两个, 两天, 下午两点); not 月, 号, 日, 级, 楼: ordinals.
_LIANG_MEASURES = _words(
    """
    个 天 人 户 名 位 只 头 辆 座 间 栋 处 条 次 场 小时 周 年 倍 种 万 亿 千 百 公里 千米 米 吨 公斤 斤 亩 台 套 件
    份 张 批 岁 分钟 秒钟 家 所 起 趟 班 组 支 片 颗 株 棵 箱 袋 本 点
    """
)

# Unit abbreviations read after a number; longest first so km/h wins over km and m.
_UNIT_ABBREVIATIONS = [
    ("km/h", "千米每小时"),
    ("m/s", "米每秒"),
    ("mm/h", "毫米每小时"),
    ("°C", "摄氏度"),
    ("°", "度"),
    ("mm", "毫米"),
    ("cm", "厘米"),
    ("km", "千米"),
    ("kg", "千克"),
    ("m³", "立方米"),
    ("m²", "平方米"),
    ("ml", "毫升"),
    ("kW", "千瓦"),
    ("m", "米"),
    ("t", "吨"),
    ("h", "小时"),
]

# Usual Chinese names of Latin letters, as 汉字 so that they go through the same pinyin path.
_LETTER_NAMES = {
    "A": "诶",
    "B": "比",
    "C": "西",
    "D": "迪",
    "E": "伊",
    "F": "艾弗",
    "G": "吉",
    "H": "艾尺",
    "I": "艾",
    "J": "杰",
    "K": "开",
    "L": "艾勒",
    "M": "艾姆",
    "N": "恩",
    "O": "欧",
    "P": "皮",
    "Q": "丘",
    "R": "阿尔",
    "S": "艾斯",
    "T": "提",
    "U": "优",
    "V": "维",
    "W": "达布留",
    "X": "艾克斯",
    "Y": "歪",
    "Z": "兹",
}

_SYMBOL_WORDS = {"&": "和", "+": "加", "=": "等于", "@": "艾特", "/": "、", "~": "到", "～": "到", "°": "度"}

_PUNCTUATION = {
    ",": "，",
    ".": "。",
    "!": "！",
    "?": "？",
    ";": "；",
    ":": "：",
    "…": "。",
    "—": "，",
    "–": "，",
    "·": "、",
    "\n": "。",
}

_NUMBER = r"\d+(?:\.\d+)?"
_HAN = "\u3400-\u9fff"


def normalize_zh(text: str) -> str:
    """Simplified-Chinese text with every digit, unit, letter and symbol written out in 汉字.

    The result holds only 汉字, the pause marks of `PAUSE_MARKS` and no whitespace; it is what a
    Mandarin engine reads and what the audio cache is keyed on.
    """
    text = _to_half_width(text)
    text = _join_digits_to_neighbours(text)
    text = _expand_unit_abbreviations(text)
    text = _dates(text)
    text = _phone_numbers_with_area_code(text)
    text = _times(text)
    text = _temperatures(text)
    text = _ranges(text)
    text = _enumerators(text)
    text = _percentages(text)
    text = _signs(text)
    text = _numbers(text)
    text = _letters(text)
    return _punctuation(text)


# ---------------------------------------------------------------------------- readings


def read_digits(digits: str) -> str:
    """Digit by digit: "110" → 一一零, "0855" → 零八五五."""
    return "".join(DIGIT_NAMES[int(d)] for d in digits)


def read_integer(number: str) -> str:
    """A quantity: "120" → 一百二十, "2000" → 两千, "22000" → 两万二千; too long for cn2an → digits."""
    if len(number) > 1 and number.startswith("0"):
        return read_digits(number)
    if len(number) > 16:  # cn2an stops at 16 digits; nobody says a quantity that long aloud
        return read_digits(number)
    import cn2an  # here, not at module level: its import costs start-up to every process that sets Django up

    words = cn2an.an2cn(number, "low")
    # 两 before 千/万/亿 (两千, 两万), but 十二万 keeps 二: that is how announcers say them.
    return re.sub(r"(?<![十一二三四五六七八九])二(?=[千万亿])", "两", words)


def read_decimal(number: str) -> str:
    """A quantity with a fraction: "3.5" → 三点五, "0.05" → 零点零五 (fraction digit by digit)."""
    whole, _, fraction = number.partition(".")
    spoken = read_integer(whole) if whole else "零"
    return f"{spoken}点{read_digits(fraction)}" if fraction else spoken


def read_number(number: str) -> str:
    return read_decimal(number) if "." in number else read_integer(number)


def _signed(number: str, *, negative: str) -> str:
    return negative + read_number(number[1:]) if number.startswith("-") else read_number(number)


# ---------------------------------------------------------------------------- the rules


def _to_half_width(text: str) -> str:
    """Full-width ASCII (U+FF01–FF5E), the ideographic space and any script's decimal digits become
    ASCII, so that every later rule only meets 0-9."""
    out = []
    for char in text:
        code = ord(char)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif char == "\u3000":
            out.append(" ")
        elif char.isdecimal():
            out.append(str(unicodedata.decimal(char)))
        else:
            out.append(char)
    return unicodedata.normalize("NFC", "".join(out)).replace("\r\n", "\n").replace("\r", "\n")


def _join_digits_to_neighbours(text: str) -> str:
    """ "第 3 号", "138 1234 5678", "12,000": spaces and separators inside a number go.

    A space between two numbers stays (it becomes a short pause): "2026-11-27 08:05" is two numbers.
    """
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    text = re.sub(r"(?<!\d)(1\d{2})[ -](\d{4})[ -](\d{4})(?!\d)", r"\1\2\3", text)  # mobile numbers
    text = re.sub(rf"(?<=[{_HAN}])[ \t]+(?=\d)", "", text)
    return re.sub(rf"(?<=\d)[ \t]+(?=[{_HAN}%‰℃])", "", text)


def _expand_unit_abbreviations(text: str) -> str:
    for abbreviation, chinese in _UNIT_ABBREVIATIONS:
        text = re.sub(rf"(?<=\d)\s*{re.escape(abbreviation)}(?![A-Za-z])", chinese, text)
    # 米/秒, 毫米/小时: a slash before a unit of time is 每 ("per").
    text = re.sub(r"/(?=秒|小时|时|分钟|天|日|周|月|年)", "每", text)
    return text.replace("℃", "摄氏度")


def _dates(text: str) -> str:
    def iso(match: re.Match[str]) -> str:
        year, month, day = match.group(1), int(match.group(3)), int(match.group(4))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return match.group(0)
        return f"{read_digits(year)}年{read_integer(str(month))}月{read_integer(str(day))}日"

    text = re.sub(r"(?<![\d.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d.])", iso, text)
    return re.sub(r"(?<![\d.])(\d{4})(?=年)", lambda m: read_digits(m.group(1)), text)


def _phone_numbers_with_area_code(text: str) -> str:
    def digits(match: re.Match[str]) -> str:
        return "，".join(read_digits(group) for group in match.group(0).split("-"))

    text = re.sub(r"(?<![\d.-])\d{3}-\d{3}-\d{4}(?![\d.])", digits, text)  # 400-123-4567
    return re.sub(r"(?<![\d.-])0\d{2,3}-\d{7,8}(?![\d.])", digits, text)  # 0855-1234567


def _times(text: str) -> str:
    def two_digits(value: int) -> str:
        return read_integer(str(value)) if value >= 10 else f"零{DIGIT_NAMES[value]}"

    def clock(match: re.Match[str]) -> str:
        hour, minute, second = int(match.group(1)), int(match.group(2)), match.group(3)
        spoken = "两点" if hour == 2 else f"{read_integer(str(hour))}点"
        if minute == 0 and second is None:
            # 十四点整 on its own, but 十八点前撤离, 八点起: 整 only where the hour ends the phrase.
            return spoken if re.match(r"[前后起止至到之以左]", match.string[match.end() :]) else f"{spoken}整"
        spoken += ("零" if minute == 0 else two_digits(minute)) + "分"
        if second is not None:
            spoken += two_digits(int(second)) + "秒"
        return spoken

    return re.sub(r"(?<![\d.:])([01]?\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?(?![\d:])", clock, text)


def _temperatures(text: str) -> str:
    def temperature(match: re.Match[str]) -> str:
        low, high, unit = match.group("low"), match.group("high"), match.group("unit")
        spoken = _signed(low, negative="零下")
        if high is not None:
            spoken += "到" + _signed(high, negative="零下")
        return spoken + unit

    pattern = (
        rf"(?<![\d.])(?P<low>-?{_NUMBER})"
        rf"(?:\s*(?:~|～|至|到|-)\s*(?P<high>-?{_NUMBER}))?"
        r"\s*(?P<unit>摄氏度|度)"
    )
    return re.sub(pattern, temperature, text)


def _percentages(text: str) -> str:
    def percent(match: re.Match[str]) -> str:
        number, sign = match.group(2), match.group(3)
        prefix = "百分之" if sign == "%" else "千分之"
        return ("负" if match.group(1) else "") + prefix + read_number(number)

    return re.sub(rf"(?<![\d.])(-?)({_NUMBER})\s*([%‰])", percent, text)


def _ranges(text: str) -> str:
    text = re.sub(r"(?<=\d)\s*[~～]\s*(?=-?\d)", "到", text)
    return re.sub(r"(?<=\d)-(?=\d)", "到", text)


def _enumerators(text: str) -> str:
    """ "1.请勿靠近河道" at the start of a line or after a pause is a list item: 一、请勿…"""
    return re.sub(rf"(?<![^\n;；。.,，:：!！?？\s])(\d{{1,2}})[.、](?=[{_HAN}])", r"\1、", text)


def _signs(text: str) -> str:
    return re.sub(r"(?<![0-9A-Za-z.])-(?=\d)", "负", text)


def _numbers(text: str) -> str:
    def number(match: re.Match[str]) -> str:
        digits = match.group(0)
        before, after = text[: match.start()], text[match.end() :]
        if "." in digits:
            return read_decimal(digits)
        if before.endswith("第"):  # an ordinal: 第12号, 第2个
            return read_integer(digits)
        unit = re.match(_UNIT_RE, after) and not after.startswith("号码")
        if not unit and _is_phone_like(digits, before):
            return read_digits(digits)
        if digits == "2" and any(after.startswith(m) for m in _LIANG_MEASURES):
            return "两"
        return read_integer(digits)

    return re.sub(_NUMBER, number, text)


def _is_phone_like(digits: str, before: str) -> bool:
    """A number without a unit that people read digit by digit (see rule 8)."""
    if len(digits) >= 5 or digits in _EMERGENCY_NUMBERS:
        return True
    if len(digits) > 1 and digits.startswith("0"):
        return True
    return before.rstrip(" :：是为").endswith(_PHONE_CUES)


def _letters(text: str) -> str:
    return re.sub(r"[A-Za-z]", lambda m: _LETTER_NAMES[m.group(0).upper()], text)


def _punctuation(text: str) -> str:
    # "（一）注意" and "(1)注意": an enumerator in brackets is followed by a pause, not swallowed.
    text = re.sub(r"[（(\[【]([一二三四五六七八九十]+)[）)\]】]", r"\1、", text)
    out: list[str] = []
    previous = ""
    for char in text:
        if char in _PUNCTUATION:
            char = _PUNCTUATION[char]
        elif char in _SYMBOL_WORDS:
            char = _SYMBOL_WORDS[char]
        if char.isspace():
            # A space between two Chinese words is a pause in informal writing ("暴雨预警 请注意").
            char = "，" if previous and _is_han(previous) else ""
        elif char not in PAUSE_MARKS and not all(_is_han(c) for c in char):
            char = ""  # brackets, quotes, emoji, other scripts: not spoken
        if not char:
            continue
        if char in PAUSE_MARKS:
            if not out:
                continue  # no pause before the first word
            if out[-1] in PAUSE_MARKS:
                out[-1] = _stronger(out[-1], char)
                previous = char
                continue
        out.append(char)
        previous = char
    while out and out[-1] in "，、；：":
        out.pop()  # a trailing comma is a typo, not a pause
    return "".join(out)


_PAUSE_RANK = {"。": 0, "！": 0, "？": 0, "；": 1, "：": 1, "，": 2, "、": 2}


def _stronger(a: str, b: str) -> str:
    """Of two adjacent marks the longer pause; the first when equal ("！。" stays an exclamation)."""
    return a if _PAUSE_RANK[a] <= _PAUSE_RANK[b] else b


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


# ---------------------------------------------------------------------------- English

_NOT_ENGLISH = re.compile(r"[^A-Za-z0-9 .,;:!?'\-%&/()]+")


def normalize_en(text: str) -> str:
    """English text for espeak-ng's English voice: full-width ASCII made half-width, anything but
    Latin letters, digits, spaces and plain punctuation dropped, whitespace collapsed.

    The English voice reads numbers, times and units itself ("14:30", "25%"); a 汉字 it could only
    call "Chinese letter", so Chinese text goes to the Mandarin path instead (the portal asks for
    zh-hans whenever a title holds a Chinese character)."""
    text = _NOT_ENGLISH.sub(" ", _to_half_width(text))
    return " ".join(text.split())
