"""The text normaliser: every rule of ruralcast/speech/normalize.py, read as an announcer would."""

import re

import pytest

from ruralcast.speech.normalize import PAUSE_MARKS, normalize_zh, read_digits


def test_a_full_date_reads_the_year_digit_by_digit_and_month_and_day_as_numbers():
    assert normalize_zh("2026年11月27日") == "二零二六年十一月二十七日"


@pytest.mark.parametrize("date", ["2026-11-27", "2026/11/27", "2026.11.27"])
def test_numeric_dates_are_read_as_year_month_day(date):
    assert normalize_zh(date) == "二零二六年十一月二十七日"


def test_a_count_of_years_is_a_number_not_a_year():
    assert normalize_zh("3年") == "三年"
    assert normalize_zh("10年") == "十年"


@pytest.mark.parametrize(
    ("clock", "spoken"),
    [
        ("14:30", "十四点三十分"),
        ("8:05", "八点零五分"),
        ("08:05", "八点零五分"),
        ("14:00", "十四点整"),
        ("2:30", "两点三十分"),
        ("0:15", "零点十五分"),
        ("14:00:05", "十四点零分零五秒"),
        ("１４：３０", "十四点三十分"),
    ],
)
def test_clock_times_are_read_as_hours_and_minutes(clock, spoken):
    assert normalize_zh(clock) == spoken


def test_a_full_hour_is_zheng_only_where_the_hour_ends_the_phrase():
    assert normalize_zh("请于18:00前撤离") == "请于十八点前撤离"
    assert normalize_zh("8:00起") == "八点起"


def test_numbered_list_items_pause_after_their_number():
    assert normalize_zh("1.请勿靠近河道；2.注意防范山洪。") == "一、请勿靠近河道；二、注意防范山洪。"
    assert normalize_zh("通知\n1、撤离") == "通知。一、撤离"


def test_a_date_followed_by_a_time_keeps_both_apart():
    assert normalize_zh("2026-11-27 08:05") == "二零二六年十一月二十七日，八点零五分"


def test_decimals_are_read_with_dian():
    assert normalize_zh("3.5米") == "三点五米"
    assert normalize_zh("0.05") == "零点零五"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("120毫米", "一百二十毫米"),
        ("受灾12000人", "受灾一万两千人"),
        ("受灾12,000人", "受灾一万两千人"),
        ("直接经济损失12345万元", "直接经济损失一万两千三百四十五万元"),
        ("共有300", "共有三百"),
        ("2000", "两千"),
    ],
)
def test_a_number_with_a_unit_is_a_quantity(text, spoken):
    assert normalize_zh(text) == spoken


def test_ordinals_are_read_as_numbers():
    assert normalize_zh("第3号") == "第三号"
    assert normalize_zh("第12345号") == "第一万两千三百四十五号"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("80%", "百分之八十"),
        ("12.5%", "百分之十二点五"),
        ("-5%", "负百分之五"),
        ("2.5‰", "千分之二点五"),
        ("湿度60%~80%", "湿度百分之六十到百分之八十"),
    ],
)
def test_percentages_are_read_as_fractions_of_a_hundred(text, spoken):
    assert normalize_zh(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("请拨打12345热线", "请拨打一二三四五热线"),
        ("报警请拨打110，急救请拨打120。", "报警请拨打一一零，急救请拨打一二零。"),
        ("火警119", "火警一一九"),
        ("联系电话0855-1234567", "联系电话零八五五，一二三四五六七"),
        ("热线400-123-4567", "热线四零零，一二三，四五六七"),
        ("村主任13812345678", "村主任一三八一二三四五六七八"),
        ("村主任138 1234 5678", "村主任一三八一二三四五六七八"),
        ("值班电话：8866", "值班电话：八八六六"),
    ],
)
def test_phone_like_numbers_are_read_digit_by_digit(text, spoken):
    assert normalize_zh(text) == spoken


def test_an_emergency_number_followed_by_a_unit_is_a_quantity():
    assert normalize_zh("雨量120毫米，请拨打120") == "雨量一百二十毫米，请拨打一二零"
    assert normalize_zh("转移110人") == "转移一百一十人"


def test_the_digit_one_is_read_yi_not_yao():
    assert read_digits("110") == "一一零"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("-5℃", "零下五摄氏度"),
        ("-5°C", "零下五摄氏度"),
        ("－５℃", "零下五摄氏度"),
        ("-2.5度", "零下二点五度"),
        ("气温-5~3℃", "气温零下五到三摄氏度"),
        ("气温-8～-2℃", "气温零下八到零下二摄氏度"),
        ("最高35℃", "最高三十五摄氏度"),
    ],
)
def test_temperatures_below_zero_are_lingxia(text, spoken):
    assert normalize_zh(text) == spoken


def test_ranges_are_read_with_dao():
    assert normalize_zh("6-8级阵风") == "六到八级阵风"
    assert normalize_zh("50~80毫米") == "五十到八十毫米"


def test_a_minus_sign_that_is_not_a_temperature_is_fu():
    assert normalize_zh("水位变化-3米") == "水位变化负三米"


def test_a_lone_two_before_a_measure_word_is_liang_but_not_as_an_ordinal():
    assert normalize_zh("2个") == "两个"
    assert normalize_zh("损失2万元") == "损失两万元"
    assert normalize_zh("下午2点") == "下午两点"
    assert normalize_zh("第2个") == "第二个"
    assert normalize_zh("2月2日") == "二月二日"


def test_unit_abbreviations_are_read_in_chinese():
    assert normalize_zh("降雨量50mm，风速20m/s") == "降雨量五十毫米，风速二十米每秒"
    assert normalize_zh("风速20米/秒") == "风速二十米每秒"
    assert normalize_zh("时速60km/h") == "时速六十千米每小时"


def test_latin_letters_are_spelled_with_chinese_letter_names():
    assert normalize_zh("PM2.5") == "皮艾姆二点五"


def test_punctuation_becomes_chinese_pause_marks():
    assert normalize_zh("注意,明天有雨.请回家!好吗?是;否:对") == "注意，明天有雨。请回家！好吗？是；否：对"
    assert normalize_zh("一、二，三。") == "一、二，三。"


def test_runs_of_pauses_keep_the_strongest_and_none_leads_or_trails():
    assert normalize_zh("，，请注意！！！。。") == "请注意！"
    assert normalize_zh("请注意，") == "请注意"


def test_brackets_quotes_and_emoji_are_not_read_but_enumerators_pause():
    assert normalize_zh("（一）注意“安全”《通知》🙂") == "一、注意安全通知"


def test_line_breaks_end_a_sentence_and_spaces_between_words_pause():
    assert normalize_zh("紧急通知\n暴雨预警 请注意") == "紧急通知。暴雨预警，请注意"


@pytest.mark.parametrize(
    "text",
    [
        "2026年11月27日14:30起，榕江县将有大暴雨，累计雨量120毫米，气温-5℃～3℃，请拨打110或12345。",
        "PM2.5浓度达到250微克/立方米，AQI指数300+",
        "第3号：风速20m/s，降雨50~80mm，概率80%，12,000人转移，电话0855-1234567",
        "１２３ａｂｃ٣",
    ],
)
def test_nothing_but_han_and_pause_marks_survives(text):
    spoken = normalize_zh(text)
    assert spoken
    assert all("\u3400" <= char <= "\u9fff" or char in PAUSE_MARKS for char in spoken), spoken
    assert not re.search(r"\s", spoken)
