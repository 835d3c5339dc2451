"""Is a text a usable translation of its source? Checks shared by ``gvs check`` (translator QA) and
machine drafting, so that both agree on what a bad translation is.

Each check takes a translation (and its source, with their locale tags where it needs them) and
returns ``(severity, message)`` or None — ``language_reading`` a ``LanguageReading`` — so that
``gvs check`` (benchmark/localization/qa.py) can report warnings too; ``draft_problems`` runs them
all and keeps the errors as ``(code, message)``, for machine drafting. The codes:

- ``script``: the letters are mostly of a script the target locale is not written in (an all-English
  zh-TW text, Chinese in an es file), or Simplified Chinese in a Traditional locale or the reverse.
  A few words of another script (a brand name, code, an English term in brackets) are not;
- ``language``: the text is in the locale's script but reads as another language, and not as a close
  relative that a detector confuses with it on short texts (es/pt/gl, de/nl/af, ru/bg/uk…);
- ``refusal``: the translation is a refusal ("抱歉，我无法帮助翻译这个内容") or a comment about
  translating ("Here is the translation:") where the source is neither;
- ``degenerate``: a line or a phrase repeated over and over (a model stuck in a loop) where the source
  does not repeat itself;
- ``truncated``: much shorter than the source, ending where the source does not (no final stop, a
  dangling "…").

A check is an error only where a failure is to be trusted: on the published translations of
MultiJail and GVS-Bench none is (perf/check_quality.py measures that, the catch rate on seeded
defects and the detectors). Standard library, langcodes, py3langid and the project's refusal scorer;
nothing here touches a file or the network. The detector's model loads once per process (~1.5 s).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Severity of each code, as gvs check reports it (see ``language_reading`` for the weak language case).
SEVERITY = {
    "script": "error",
    "language": "error",
    "refusal": "error",
    "degenerate": "error",
    "truncated": "error",
}

# -- scripts ---------------------------------------------------------------------------------------

# First word(s) of a letter's Unicode name -> script. Letters of other scripts are "Other".
_NAME_SCRIPTS = {
    "LATIN": "Latin",
    "FULLWIDTH LATIN": "Latin",
    "CJK": "Han",
    "HIRAGANA": "Kana",
    "KATAKANA": "Kana",
    "HALFWIDTH KATAKANA": "Kana",
    "HANGUL": "Hangul",
    "HALFWIDTH HANGUL": "Hangul",
    "CYRILLIC": "Cyrillic",
    "ARABIC": "Arabic",
    "DEVANAGARI": "Devanagari",
    "THAI": "Thai",
    "HEBREW": "Hebrew",
    "GREEK": "Greek",
    "BENGALI": "Bengali",
    "TAMIL": "Tamil",
    "TELUGU": "Telugu",
    "GUJARATI": "Gujarati",
    "GURMUKHI": "Gurmukhi",
    "KANNADA": "Kannada",
    "MALAYALAM": "Malayalam",
    "ORIYA": "Oriya",
    "SINHALA": "Sinhala",
    "GEORGIAN": "Georgian",
    "ARMENIAN": "Armenian",
    "ETHIOPIC": "Ethiopic",
    "KHMER": "Khmer",
    "LAO": "Lao",
    "MYANMAR": "Myanmar",
    "TIBETAN": "Tibetan",
    "MONGOLIAN": "Mongolian",
    "BOPOMOFO": "Bopomofo",
    "SYRIAC": "Syriac",
    "THAANA": "Thaana",
}
# ISO 15924 script of a locale (from langcodes) -> the scripts its letters are written in.
_LOCALE_SCRIPTS = {
    "Latn": ("Latin",),
    "Hans": ("Han",),
    "Hant": ("Han", "Bopomofo"),
    "Jpan": ("Han", "Kana"),
    "Kore": ("Hangul", "Han"),
    "Cyrl": ("Cyrillic",),
    "Arab": ("Arabic",),
    "Deva": ("Devanagari",),
    "Thai": ("Thai",),
    "Hebr": ("Hebrew",),
    "Grek": ("Greek",),
    "Beng": ("Bengali",),
    "Taml": ("Tamil",),
    "Telu": ("Telugu",),
    "Gujr": ("Gujarati",),
    "Guru": ("Gurmukhi",),
    "Knda": ("Kannada",),
    "Mlym": ("Malayalam",),
    "Orya": ("Oriya",),
    "Sinh": ("Sinhala",),
    "Geor": ("Georgian",),
    "Armn": ("Armenian",),
    "Ethi": ("Ethiopic",),
    "Khmr": ("Khmer",),
    "Laoo": ("Lao",),
    "Mymr": ("Myanmar",),
    "Tibt": ("Tibetan",),
    "Mong": ("Mongolian",),
    "Syrc": ("Syriac",),
    "Thaa": ("Thaana",),
}
# Letters a character stands for when weighing scripts against each other: one Han character carries
# about as much as three Latin letters, a Hangul syllable about two ("ChatGPT" in a Chinese sentence
# is seven Latin letters against dozens of Han ones).
_WEIGHT = {"Han": 3.0, "Hangul": 2.0, "Kana": 1.5, "Bopomofo": 1.0}
# A text whose letters are less than this share of the locale's scripts (weighted) is in the wrong
# script (an error), below WARN_SCRIPT_SHARE mixed enough to look at (a warning) — when the foreign
# letters weigh at least SCRIPT_MIN_LETTERS.
ERROR_SCRIPT_SHARE = 0.2
WARN_SCRIPT_SHARE = 0.5
SCRIPT_MIN_LETTERS = 12
# How much of a long text the script and language checks read (bounds the cost of huge items).
SAMPLE_CHARS = 1000


def char_script(ch: str) -> str | None:
    """The script of a letter (``Latin``, ``Han``, ``Cyrillic``…, ``Other``), None for a non-letter."""
    code = _SCRIPT_TABLE[ord(ch)]
    return _CODE_SCRIPTS[code] if code is not None else None


def _script_of_char(ch: str) -> str | None:
    if not unicodedata.category(ch).startswith("L"):
        return None
    words = unicodedata.name(ch, "").split(" ")
    return _NAME_SCRIPTS.get(" ".join(words[:2])) or _NAME_SCRIPTS.get(words[0]) or "Other"


# Every script a one-character code, so that ``str.translate`` (C speed) maps a text to its letters'
# scripts and ``str.count`` counts them.
_SCRIPT_CODES = {script: chr(0xE000 + i) for i, script in enumerate(sorted({*_NAME_SCRIPTS.values(), "Other"}))}
_CODE_SCRIPTS = {code: script for script, code in _SCRIPT_CODES.items()}


class _ScriptTable(dict):
    """ord(character) -> its script's code, or None (deleted by ``translate``) for a non-letter;
    filled on first sight of each character."""

    def __missing__(self, key: int) -> str | None:
        script = _script_of_char(chr(key))
        code = _SCRIPT_CODES[script] if script is not None else None
        self[key] = code
        return code


_SCRIPT_TABLE = _ScriptTable()


@lru_cache(maxsize=1024)
def script_counts(text: str) -> dict[str, int]:
    """Letters of each script in ``text`` (its first SAMPLE_CHARS characters). Cached: treat the
    result as read-only."""
    codes = text[:SAMPLE_CHARS].translate(_SCRIPT_TABLE)
    # A text has few scripts: counting each in C is several times faster than a Counter (in code
    # order, so that ties are settled alike in every process).
    return {_CODE_SCRIPTS[code]: codes.count(code) for code in sorted(set(codes))}


@lru_cache(maxsize=512)
def locale_script(tag: str) -> str | None:
    """The ISO 15924 script a locale is written in (``zh-TW`` Hant, ``ru`` Cyrl), None if unknown."""
    import langcodes

    try:
        return langcodes.Language.get(tag).maximize().script
    except (ValueError, LookupError):
        return None


def locale_scripts(tag: str) -> tuple[str, ...] | None:
    """The scripts (``script_counts`` names) the letters of a locale's text are written in, None if unknown."""
    iso = locale_script(tag)
    return _LOCALE_SCRIPTS.get(iso) if iso else None


def _weighted(counts: dict[str, int]) -> dict[str, float]:
    return {script: n * _WEIGHT.get(script, 1.0) for script, n in counts.items()}


# Frequent characters whose Simplified and Traditional forms differ, as "ST" pairs; only characters
# that the other script does not use in ordinary text (后/後, 发/髮, 干/幹, 里/裡… are left out).
_ST_PAIRS = (
    "们們 这這 个個 说說 为為 来來 时時 会會 对對 国國 过過 还還 发發 经經 学學 现現 动動 问問 样樣 点點 "
    "应應 关關 开開 长長 进進 实實 从從 种種 无無 与與 机機 电電 体體 当當 东東 见見 间間 让讓 语語 话話 "
    "认認 该該 请請 给給 办辦 头頭 买買 卖賣 书書 车車 马馬 鸟鳥 鱼魚 门門 风風 飞飛 杀殺 药藥 钱錢 银銀 "
    "铁鐵 错錯 难難 题題 验驗 证證 险險 网網 络絡 线線 级級 终終 结結 红紅 纸紙 贵貴 费費 资資 质質 边邊 "
    "达達 运運 连連 选選 遗遺 钟鐘 队隊 阳陽 阴陰 际際 陆陸 陈陳 随隨 饭飯 饮飲 馆館 鸡雞 麦麥 齐齊 龙龍 "
    "乐樂 习習 乱亂 争爭 亚亞 产產 亲親 亿億 仅僅 价價 众眾 优優 传傳 伤傷 儿兒 党黨 兰蘭 兴興 养養 写寫 "
    "军軍 农農 决決 况況 净淨 减減 击擊 则則 刚剛 创創 别別 剧劇 务務 劳勞 势勢 华華 协協 单單 卫衛 历歷 "
    "压壓 县縣 参參 双雙 变變 号號 吗嗎 听聽 员員 响響 团團 园園 围圍 图圖 圆圓 场場 块塊 坚堅 声聲 处處 "
    "备備 够夠 夺奪 奋奮 奖獎 妈媽 孙孫 宁寧 宝寶 审審 宽寬 导導 将將 尔爾 层層 属屬 岁歲 币幣 师師 带帶 "
    "帮幫 广廣 庆慶 废廢 张張 强強 归歸 忆憶 态態 总總 恶惡 惊驚 惯慣 战戰 扩擴 扫掃 扬揚 护護 报報 择擇 "
    "担擔 拥擁 挥揮 换換 摄攝 敌敵 数數 断斷 旧舊 显顯 杂雜 权權 条條 极極 构構 枪槍 标標 树樹 桥橋 检檢 "
    "楼樓 欢歡 毕畢 气氣 汇匯 汉漢 沟溝 没沒 泪淚 测測 济濟 满滿 灭滅 灯燈 灵靈 灾災 烟煙 热熱 爱愛 独獨 "
    "环環 疗療 监監 盖蓋 盘盤 确確 礼禮 离離 积積 称稱 税稅 稳穩 穷窮 笔筆 简簡 粮糧 紧緊 约約 纪紀 纯純 "
    "组組 细細 织織 绍紹 统統 继繼 绩績 续續 维維 综綜 绿綠 编編 罗羅 职職 联聯 脑腦 脚腳 艺藝 节節 苏蘇 "
    "荣榮 获獲 营營 虑慮 虽雖 补補 装裝 观觀 规規 觉覺 览覽 计計 订訂 讨討 训訓 议議 记記 讲講 许許 论論 "
    "设設 访訪 评評 识識 诉訴 词詞 译譯 试試 诗詩 诚誠 误誤 读讀 课課 谁誰 调調 谈談 谢謝 负負 财財 责責 "
    "败敗 货貨 购購 贴貼 贸貿 赛賽 赢贏 转轉 轮輪 软軟 轻輕 较較 辆輛 输輸 迁遷 迟遲 递遞 邮郵 钢鋼 镜鏡 "
    "闭閉 闻聞 阅閱 阶階 隐隱 页頁 顶頂 项項 顺順 须須 顾顧 预預 领領 频頻 颜顏 驾駕 驶駛 骗騙 鲜鮮 齿齒 "
    "龄齡 温溫 绳繩 尽盡 适適 爷爺 钟鍾"
).split()
SIMPLIFIED_ONLY = frozenset(pair[0] for pair in _ST_PAIRS)
TRADITIONAL_ONLY = frozenset(pair[1] for pair in _ST_PAIRS) | {"爲", "衆", "裏"}  # Hong Kong and Taiwan variants
_SCRIPT_NAMES = {"Hans": "Simplified", "Hant": "Traditional"}


def chinese_script(text: str) -> str | None:
    """``Hans`` or ``Hant`` from the characters that differ between the scripts, or None when the
    text has fewer than two of them or neither script has two thirds of them."""
    simplified = sum(map(SIMPLIFIED_ONLY.__contains__, text))
    traditional = sum(map(TRADITIONAL_ONLY.__contains__, text))
    if simplified + traditional < 2:
        return None
    if simplified * 3 >= (simplified + traditional) * 2:
        return "Hans"
    if traditional * 3 >= (simplified + traditional) * 2:
        return "Hant"
    return None


def script_reading(text: str, target_tag: str) -> tuple[str, str] | None:
    """(severity, message) when ``text`` is not written in ``target_tag``'s script, else None.

    An error when the locale's scripts hold less than ERROR_SCRIPT_SHARE of the (weighted) letters,
    a warning below WARN_SCRIPT_SHARE; either only when the foreign letters weigh at least
    SCRIPT_MIN_LETTERS. Then Simplified against Traditional Chinese (an error)."""
    expected = locale_scripts(target_tag)
    if expected is None:
        return None
    weights = _weighted(script_counts(text))
    total = sum(weights.values())
    own = sum(weights.get(s, 0.0) for s in expected)
    foreign = total - own
    if total and foreign >= SCRIPT_MIN_LETTERS:
        share = own / total
        if share < WARN_SCRIPT_SHARE:
            other = max((s for s in weights if s not in expected), key=lambda s: weights[s])
            severity = "error" if share < ERROR_SCRIPT_SHARE else "warning"
            iso = locale_script(target_tag)
            own_name = " and ".join(expected[:1] if iso == "Hant" else expected)
            if iso in _SCRIPT_NAMES:
                own_name += f" ({_SCRIPT_NAMES[iso]})"
            return (
                severity,
                f"written in {other} script ({1 - share:.0%} of its letters); {target_tag} is written in {own_name}",
            )
    iso = locale_script(target_tag)
    if iso in _SCRIPT_NAMES:
        got = chinese_script(text[:SAMPLE_CHARS])
        if got is not None and got != iso:
            return "error", f"written in {_SCRIPT_NAMES[got]} Chinese; {target_tag} is {_SCRIPT_NAMES[iso]}"
    return None


# -- language --------------------------------------------------------------------------------------

# Languages a detector confuses on short texts (py3langid's codes included: an, ext, ast beside es…):
# a reading within the group is not a finding on a short text, and at most a warning on a long one.
_CONFUSABLE_GROUPS = (
    {"es", "pt", "gl", "ca", "an", "ext", "ast", "it", "ro", "oc", "la"},
    {"fr", "ca", "oc", "wa", "it", "br", "lij", "vec", "co", "la"},
    {"it", "vec", "lij", "co", "sc", "la"},
    {"en", "pcm", "sco", "jam"},
    {"de", "nl", "af", "lb", "fy", "li", "da", "no", "sv"},
    {"no", "nb", "nn", "da", "sv", "fo", "is"},
    {"ru", "bg", "uk", "mk", "sr", "be", "ba", "tt", "kk", "ky", "tg", "mn"},
    {"hr", "bs", "sr", "sl", "sh", "me"},
    {"cs", "sk", "pl", "sl"},
    {"id", "ms", "jv", "su", "tl", "ace", "bcl", "min"},
    {"hi", "mr", "ne", "sa", "gom", "bh", "mai"},
    {"ar", "ary", "arz", "fa", "ur", "ps", "ku", "sdh", "ug"},
    {"bn", "as"},
    {"et", "fi", "se"},
    {"lv", "lt", "ltg"},
    {"sw", "so", "rw", "lg", "kik"},
    {"zh", "wuu", "yue", "ja", "ko"},
    {"tr", "az", "crh", "tk", "uz", "uzs"},
    {"zu", "xh", "st", "nso", "sn"},
)
# Scripts that only one language is commonly written in: the script check decides those (Han, Kana
# and Hangul: see ``_cjk_reading``).
_SCRIPT_DECIDES = frozenset(
    {"Han", "Kana", "Hangul", "Thai", "Hebrew", "Greek", "Tamil", "Telugu", "Gujarati", "Gurmukhi",
     "Kannada", "Malayalam", "Georgian", "Armenian", "Khmer", "Lao", "Sinhala", "Bengali"}
)  # fmt: skip
# The detector's code where it differs from the language subtag of a locale.
_DETECTOR_ALIASES = {"nb": "no", "fil": "tl", "iw": "he", "in": "id", "jw": "jv"}
# Fewer letters than this and no detector reading means anything.
MIN_LETTERS = 12
# A reading of another, unrelated language is an error from this many letters and this probability
# on; below, a warning. A close relative's reading is at most a warning, from LONG_LETTERS letters
# and CLOSE_PROBABILITY on. (py3langid's probabilities are calibrated for the text's length: a
# short text rarely reaches 0.9.)
CONFIDENT_LETTERS = 40
CONFIDENT_PROBABILITY = 0.9
LONG_LETTERS = 120
CLOSE_PROBABILITY = 0.99
# Readings under this probability say nothing (a warning would be noise).
WEAK_PROBABILITY = 0.5
# How many characters of the text the detector reads (its accuracy hardly grows past a few
# sentences; its cost does).
DETECT_CHARS = 600
DETECTOR = "py3langid"


def confusable(a: str, b: str) -> bool:
    """Whether a detector may well read a text of language ``a`` as ``b`` (or the reverse)."""
    return a == b or any(a in group and b in group for group in _CONFUSABLE_GROUPS)


def detector_language(tag: str) -> str:
    """The language subtag of a locale as the detector names it (``nb-NO`` -> ``no``)."""
    lang = tag.split("-")[0].lower()
    return _DETECTOR_ALIASES.get(lang, lang)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    # The model ships as float16, which numpy multiplies slowly: float32 (57 MB) is about twice as fast.
    identifier.nb_ptc = identifier.nb_ptc.astype("float32")
    return identifier


@lru_cache(maxsize=1)
def _detector_languages() -> frozenset[str]:
    return frozenset(_identifier().labels)


def detector_supports(lang: str) -> bool:
    """Whether the detector knows ``lang`` (a detector subtag, see ``detector_language``)."""
    return lang in _detector_languages()


def _own_letters(text: str, scripts: tuple[str, ...]) -> str:
    """``text`` with letters of other scripts than ``scripts`` blanked (a brand name in a Russian text)."""
    codes = text.translate(_SCRIPT_TABLE)
    own = {_SCRIPT_CODES[s] for s in scripts}
    if all(code in own for code in set(codes)):
        return text
    return "".join(
        " " if _SCRIPT_TABLE[ord(ch)] not in own and _SCRIPT_TABLE[ord(ch)] is not None else ch for ch in text
    )


# A text with at least this many of its language's frequent words (the refusal lexicon's "markers":
# la, que, de… for Spanish), and more of them than of any other language's, is in that language or a
# close relative: the detector (~40 µs a text) need not read it.
MARKER_MIN = 4


@lru_cache(maxsize=1)
def _marker_words() -> dict[str, tuple[str, ...]]:
    from benchmark.scoring import refusal

    return refusal._compiled().markers


def _markers_agree(text: str, lang: str) -> bool:
    from benchmark.scoring import refusal

    markers = _marker_words()
    found = [langs for word in refusal._WORD.findall(text.lower()) if (langs := markers.get(word))]
    if len(found) < MARKER_MIN:  # too few marker words of any language
        return False
    hits: dict[str, int] = {}
    for langs in found:
        for one in langs:
            hits[one] = hits.get(one, 0) + 1
    own = hits.pop(lang, 0)
    return own >= MARKER_MIN and all(n < own for n in hits.values())


@lru_cache(maxsize=4096)
def _classify(sample: str) -> tuple[str, float]:
    got, probability = _identifier().classify(sample)
    return str(got), float(probability)


@dataclass(frozen=True)
class LanguageReading:
    """What the language check made of one text: ``verdict`` is ``agree`` (the declared language or,
    a close relative unless confidently on a long text), ``close`` (that: a warning), ``other``
    (another language: ``severity`` says how sure), ``unsure`` (another language, but the detector
    is far from sure: no finding), or ``unchecked`` (too short, or a language the check cannot tell)."""

    verdict: str
    detected: str | None = None
    probability: float | None = None
    severity: str | None = None
    message: str = ""


def _cjk_reading(text: str, lang: str, target_tag: str) -> LanguageReading:
    """Chinese, Japanese and Korean told apart by their scripts: Japanese without kana, Korean
    without Hangul, Chinese with kana are another language."""
    counts = script_counts(text)
    han, kana, hangul = counts.get("Han", 0), counts.get("Kana", 0), counts.get("Hangul", 0)
    cjk = han + kana + hangul
    if cjk < MIN_LETTERS // 2:
        return LanguageReading("unchecked")
    if lang == "zh":
        got = "ko" if hangul * 5 > cjk else "ja" if kana * 10 > cjk else "zh"
    elif lang == "ja":
        got = "ko" if hangul * 5 > cjk else "ja" if kana else "zh"
    else:  # ko
        got = "ko" if hangul * 5 > cjk else "ja" if kana else "zh"
    if got == lang:
        return LanguageReading("agree", lang, 1.0)
    severity = "error" if cjk >= CONFIDENT_LETTERS // 2 else "warning"
    return LanguageReading(
        "other", got, 1.0, severity, f"reads as {got!r} (by its script), not {lang!r} as {target_tag} declares"
    )


def language_reading(text: str, target_tag: str) -> LanguageReading:
    """Whether ``text`` reads as ``target_tag``'s language. Chinese, Japanese and Korean are told by
    their scripts; other texts in a script that several languages share (Latin, Cyrillic, Arabic,
    Devanagari) are read by py3langid — only their letters of the locale's own script (a brand name
    in a Russian text is not Russian, nor evidence against it)."""
    lang = detector_language(target_tag)
    scripts = locale_scripts(target_tag)
    if scripts is None:
        return LanguageReading("unchecked")
    if lang in ("zh", "ja", "ko"):
        return _cjk_reading(text[:SAMPLE_CHARS], lang, target_tag)
    if not _SCRIPT_DECIDES.isdisjoint(scripts):  # Thai, Greek, Bengali…: the script is the language
        counts = script_counts(text)
        own = sum(counts.get(s, 0) for s in scripts)
        if own < MIN_LETTERS or own * 2 < sum(counts.values()):
            return LanguageReading("unchecked")
        return LanguageReading("agree", lang, 1.0)
    if not detector_supports(lang):
        return LanguageReading("unchecked")
    counts = script_counts(text)
    letters = sum(counts.get(s, 0) for s in scripts)
    if letters < MIN_LETTERS:
        return LanguageReading("unchecked")
    if text.count(" ", 0, DETECT_CHARS) >= 2 * MARKER_MIN and _markers_agree(text[:DETECT_CHARS], lang):
        return LanguageReading("agree", lang, None)
    head = text[:DETECT_CHARS]
    if not all(script in scripts for script in counts):  # letters of other scripts (counted over more of it)
        head = _own_letters(head, scripts)
    got, probability = _classify(" ".join(head.split()))
    if got == lang:
        return LanguageReading("agree", lang, probability)
    if confusable(got, lang):
        if letters >= LONG_LETTERS and probability >= CLOSE_PROBABILITY:
            return LanguageReading(
                "close",
                got,
                probability,
                "warning",
                f"reads as {got!r} ({DETECTOR}, p={probability:.2f}), a close relative of {lang!r} "
                f"that {target_tag} declares",
            )
        return LanguageReading("agree", got, probability)
    if probability < WEAK_PROBABILITY:
        return LanguageReading("unsure", got, probability)
    sure = letters >= CONFIDENT_LETTERS and probability >= CONFIDENT_PROBABILITY
    return LanguageReading(
        "other",
        got,
        probability,
        "error" if sure else "warning",
        f"reads as {got!r} ({DETECTOR}, p={probability:.2f}), not {lang!r} as {target_tag} declares",
    )


# -- refusals and comments about translating -------------------------------------------------------

# Words about translating, in the languages the project meets; a translation that talks about
# translating where its source does not is a comment, not a translation.
_TRANSLATING_WORDS = (
    r"translat|traduc|tradu[zsçi]|übersetz|uebersetz|vertaal|перев[оеё]д|превод|przetłum|tłumacz|"
    r"překl|fordít|käänn|översätt|oversæt|oversett|çevir|tercüm|terjemah|tafsiri|dịch|"
    r"翻译|翻譯|译文|譯文|译注|譯註|翻訳|訳文|번역|ترجم|תרגום|अनुवाद|অনুবাদ|คำแปล|การแปล|แปลว่า"
)
# Searched in the lowercased text (all the words are lowercase): several times faster than a
# case-insensitive search.
_TRANSLATING = re.compile(_TRANSLATING_WORDS)


def _talks_about_translating(text: str) -> bool:
    return _TRANSLATING.search(text.lower()) is not None


# What a refusal to translate says in its first sentence: an apology, "cannot help", "will not", a
# policy or "as an AI" (moralising alone is not: a safety prompt's translation may well moralise).
_DECLINING = frozenset({"apology", "cannot_help", "will_not", "policy", "ai_identity"})
_SENTENCE_END = re.compile(r"[.!?。！？؟।…]+[\s\"'”’»」)]*")
# The opening read for a refusal: the first sentence, and the next while it has fewer letters than
# this (a bare "Sorry."), at most OPENING_CHARS characters.
OPENING_LETTERS = 20
OPENING_CHARS = 240


def _opening(text: str) -> str:
    head = text[:OPENING_CHARS]
    for match in _SENTENCE_END.finditer(head):
        if sum(map(str.isalpha, head[: match.end()])) >= OPENING_LETTERS:
            return head[: match.end()]
    return head


_CUE_GUARD = "(?<!\\w)"
_GROUP_NAME = re.compile(r"\(\?P<\w+>")


@lru_cache(maxsize=256)
def _refusal_cues(tag: str) -> re.Pattern[str] | None:
    """One pattern that finds any of the refusal scorer's refusal-side cues for the languages a
    refusal in a ``tag`` file is likely written in: its own and English (a refusal in a third
    language is the language check's). A text where it finds none is no refusal and need not be
    classified (that costs ~50 µs a text). The scorer's patterns, each behind the same guard, are
    joined behind one guard, their group names dropped (a third faster than searching each)."""
    from benchmark.scoring import refusal

    regexes = refusal._compiled().regexes
    lang = detector_language(tag)
    wanted = {lang, "en"} | ({"zh"} if lang == "ja" else set())  # Japanese refusals are half Han
    patterns = [regexes[w][0].pattern for w in sorted(wanted) if regexes.get(w)]
    if not patterns:
        return None
    if all(p.startswith(_CUE_GUARD) for p in patterns):
        bodies = [_GROUP_NAME.sub("(?:", p[len(_CUE_GUARD) :]) for p in patterns]
        return re.compile(_CUE_GUARD + "(?:" + "|".join(bodies) + ")")
    return re.compile("|".join(f"(?:{_GROUP_NAME.sub('(?:', p)})" for p in patterns))


def _declines(text: str, tag: str) -> tuple[str, ...]:
    """The declining cues of the refusal scorer when the opening of ``text`` is a refusal, else ()."""
    from benchmark.scoring import refusal

    opening = _opening(text)
    norm = refusal._normalize(opening)
    any_cue = _refusal_cues(tag)
    if any_cue is None or not any_cue.search(norm):
        return ()
    verdict = refusal.classify(opening, tag)
    if not verdict.refused:
        return ()
    cues = tuple(c for c in verdict.cues if not c.startswith("structure:"))
    return cues if any(c.split(":", 1)[-1] in _DECLINING for c in cues) else ()


def refusal_reading(
    source: str, text: str, source_tag: str, target_tag: str, ratio: float | None = None
) -> tuple[str, str] | None:
    """(severity, message) when ``text`` is a refusal or a comment about translating and ``source``
    is neither. An error when its first sentence declines with two kinds of cue of the project's
    refusal scorer ("sorry" and "I cannot help"), or with one and it is much shorter than the source
    (``ratio`` below TRUNCATED_RATIO: see ``truncation``), or when its opening or closing talks about
    translating; a warning when it declines with one cue only ("non possono" is also "they cannot")."""
    opening = text[:OPENING_CHARS]
    parts = (text,) if len(text) <= 2 * OPENING_CHARS else (opening, text[-OPENING_CHARS:])
    cues = _declines(text, target_tag)
    if cues and _declines(source, source_tag):
        cues = ()  # the source itself reads as a refusal (a prompt quoting one)
    if cues:
        families = {c.split(":", 1)[-1] for c in cues} & _DECLINING
        if ratio is None:
            ratio = size_ratio(source, text)
        if len(families) >= 2 or (ratio is not None and ratio < TRUNCATED_RATIO):
            return SEVERITY["refusal"], f"reads as a refusal ({', '.join(cues)}), not a translation of the source"
    for part in parts:
        if _talks_about_translating(part) and not _talks_about_translating(source):
            head = " ".join(part.split())[:60]
            return SEVERITY["refusal"], (
                f"talks about translating ({head!r}) where the source does not: a comment, not a translation"
            )
    if cues:
        return "warning", f"may be a refusal ({', '.join(cues)}), not a translation of the source"
    return None


# -- degeneration ----------------------------------------------------------------------------------

_SPACED = re.compile(r"\w+", re.UNICODE)
_DENSE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
# Degenerate: a line repeated at least REPEATED_LINES times, or a text of at least DEGENERATE_TOKENS
# tokens whose distinct 3-grams are fewer than DEGENERATE_DISTINCT of all; in both cases the source
# must repeat itself much less.
REPEATED_LINES = 3
DEGENERATE_TOKENS = 24
DEGENERATE_DISTINCT = 0.5


def _tokens(text: str) -> list[str]:
    text = text[: 4 * SAMPLE_CHARS].casefold()
    head = text[:200]
    if _DENSE.search(head) and len(_DENSE.findall(head)) * 3 > len(head):  # unspaced script: characters are tokens
        return [ch for ch in text if ch.isalnum()]
    return _SPACED.findall(text)


def _distinct_share(tokens: list[str], n: int = 3) -> float:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def _line_repeats(text: str) -> tuple[int, str]:
    counts: dict[str, int] = {}
    for line in text.splitlines():
        key = " ".join(line.split()).casefold()
        if len(key) >= 2:
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return 0, ""
    line = max(counts, key=lambda k: counts[k])
    return counts[line], line


def degeneration(source: str, text: str) -> tuple[str, str] | None:
    """(severity, message) when ``text`` repeats a line or a phrase over and over and ``source`` does not."""
    if len(text) < DEGENERATE_TOKENS:
        return None
    times, line = _line_repeats(text) if "\n" in text else (0, "")
    if times >= REPEATED_LINES and times > 2 * _line_repeats(source)[0]:
        return SEVERITY["degenerate"], f"repeats the line {line[:40]!r} {times} times: a degenerate translation"
    tokens = _tokens(text)
    if len(tokens) >= DEGENERATE_TOKENS:
        share = _distinct_share(tokens)
        if share < DEGENERATE_DISTINCT and share < 0.6 * _distinct_share(_tokens(source)):
            return SEVERITY["degenerate"], (
                f"repeats itself: only {share:.0%} of its 3-token phrases are distinct (a degenerate translation)"
            )
    return None


# -- truncation ------------------------------------------------------------------------------------

# Lengths are compared across scripts in weighted letters (``_WEIGHT``: a Han character counts three),
# as the ratio of the translation's to the source's, divided by the ratio typical of the locale pair
# where the caller knows it (``gvs check`` takes the median of the file). Truncated (an error): below
# TRUNCATED_RATIO with a cut-off ending, for a source of LONG_SOURCE_LETTERS weighted letters or more
# (a shorter one: below SHORT_RATIO; a casual short translation may drop the source's "?"). A
# warning: below TRUNCATED_RATIO with such an ending, or below SHORT_RATIO whatever the ending. Not
# for sources under TRUNCATION_MIN_LETTERS.
TRUNCATED_RATIO = 0.6
SHORT_RATIO = 0.45
TRUNCATION_MIN_LETTERS = 20
LONG_SOURCE_LETTERS = 40
_FINAL = re.compile(r"[.!?。！？؟।॥…」』\"'”’»)）\]】>*:：;；]\s*$")
_DANGLING = re.compile(r"(?:\.\.\.|…|[,，、:;：；\-–—])\s*$")


def size(text: str) -> float:
    """The length of ``text`` in weighted letters, comparable across scripts."""
    return sum(_weighted(script_counts(text[: 4 * SAMPLE_CHARS])).values())


def size_ratio(source: str, text: str) -> float | None:
    """``text``'s weighted length over ``source``'s, None when the source has no letters."""
    src = size(source)
    return size(text) / src if src else None


def truncation(source: str, text: str, ratio: float | None = None) -> tuple[str, str] | None:
    """(severity, message) when ``text`` is much shorter than ``source`` and ends as if cut off (an
    error), or is far shorter whatever its ending (a warning). ``ratio``: the length ratio already
    divided by the typical one (default: ``size_ratio``)."""
    if ratio is None:
        ratio = size_ratio(source, text)
    if ratio is None or ratio >= TRUNCATED_RATIO:
        return None
    src_size = size(source)
    if src_size < TRUNCATION_MIN_LETTERS:
        return None
    src_end, end = source.rstrip(), text.rstrip()
    cut = (_FINAL.search(src_end) is not None and _FINAL.search(end) is None) or (
        _DANGLING.search(end) is not None and _DANGLING.search(src_end) is None
    )
    if cut:
        message = f"is {ratio:.0%} of the source's length and ends where the source does not: cut off?"
        sure = ratio < SHORT_RATIO or src_size >= LONG_SOURCE_LETTERS
        return SEVERITY["truncated"] if sure else "warning", message
    if ratio < SHORT_RATIO:
        return "warning", f"is {ratio:.0%} of the source's length: text left out?"
    return None


# -- all of them -----------------------------------------------------------------------------------


def prepare(*tags: str | None) -> None:
    """Load now what the checks of texts in these locales load on first use (the language model, the
    refusal lexicon), so that processes forked afterwards share it instead of each loading it."""
    _marker_words()
    for tag in tags:
        if tag is None:
            continue
        _refusal_cues(tag)
        locale_scripts(tag)
        if detector_supports(detector_language(tag)):
            _identifier()


def draft_problems(source: str, text: str, source_tag: str, target_tag: str) -> list[tuple[str, str]]:
    """(code, message) for each reason `text` is not a usable translation of `source`:
    'refusal' (the translation is a refusal or a comment about translating), 'degenerate'
    (repeated-line / repeated-phrase degeneration), 'truncated' (much shorter than the source in a
    way that signals cut-off), 'language'/'script' (wrong language or script for target_tag).
    Empty list = looks like a translation. Only what ``gvs check`` reports as an error is a problem
    here; its warnings (a mixed script, a close relative's reading, a short text) are not."""
    if not text.strip():
        return [("truncated", "empty")] if source.strip() else []
    found: list[tuple[str, tuple[str, str] | None]] = []
    script = script_reading(text, target_tag)
    found.append(("script", script))
    if script is None:
        reading = language_reading(text, target_tag)
        if reading.severity is not None:
            found.append(("language", (reading.severity, reading.message)))
    found.append(("refusal", refusal_reading(source, text, source_tag, target_tag)))
    found.append(("degenerate", degeneration(source, text)))
    found.append(("truncated", truncation(source, text)))
    return [(code, got[1]) for code, got in found if got is not None and got[0] == "error"]
