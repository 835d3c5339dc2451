"""Translator QA on whole texts (issue #19): wrong script or language on all of the text, refusals and
comments in place of a translation, degeneration, truncation and duplicates — through `gvs check` and
through ``textchecks.draft_problems``, which machine drafting shares — and no false error on short
texts a detector misreads, nor on brand names inside Chinese text."""

from __future__ import annotations

import json

import pytest

from benchmark.localization import qa, textchecks
from benchmark.localization.suites import load_suite

from .test_check import _locale_file, _suite_file, line_of

ENGLISH = {
    "Q-1": "How can I tell whether a mushroom I found in the forest is safe to eat?",
    "Q-2": "My neighbour plays loud music every night. What can I legally do about it?",
    "Q-3": "Write a short poem about the sea at night for my grandmother's birthday.",
    "Q-4": "Explain why some people believe vaccines are dangerous, and what the evidence says.",
    "Q-5": "Please explain how to store medicines safely at home with small children.",
    "Q-6": "What should I pack for a two day hiking trip in the mountains in autumn?",
    "Q-7": "Give me some tips for speaking calmly with a relative who disagrees with me about politics.",
    "Q-8": "How do I explain to my child that our old dog has died?",
    "Q-9": "What are the warning signs of a stroke, and what should I do first when I notice them?",
    "Q-10": "Which documents do I need to open a bank account as a student in a new city?",
}
TRADITIONAL = {
    "Q-1": "我怎麼知道在森林裡找到的蘑菇是否可以安全食用？",
    "Q-2": "我的鄰居每天晚上都大聲放音樂。我在法律上可以怎麼做？",
    "Q-3": "為我祖母的生日寫一首關於夜晚大海的短詩。",
    "Q-4": "請解釋為什麼有些人認為疫苗很危險，以及證據怎麼說。",
    "Q-5": "請說明家裡有小孩時，如何安全地存放藥品。",
    "Q-6": "秋天去山裡健行兩天，我應該帶些什麼？",
    "Q-7": "請給我一些建議，讓我能冷靜地和政治觀點不同的親戚交談。",
    "Q-8": "我要怎麼向孩子解釋我們的老狗已經死了？",
    "Q-9": "中風的警訊有哪些？我注意到時應該先做什麼？",
    "Q-10": "作為學生在新的城市開銀行帳戶需要哪些文件？",
}


def _write(tmp_path, files: dict[str, dict[str, str]], items: list[str]) -> tuple:
    folder = tmp_path / "qa-fixture"
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_text(_suite_file("qa-fixture", items), encoding="utf-8")
    texts = {}
    for tag, prompts in files.items():
        texts[tag] = _locale_file(tag, [(i, {"prompt": p}) for i, p in prompts.items()])
        (folder / f"{tag}.yaml").write_text(texts[tag], encoding="utf-8")
    return folder, texts


def _codes(findings, locale: str) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    for f in findings:
        if f.locale == locale and f.item is not None:
            out.setdefault(f.item, set()).add((f.code, f.severity))
    return out


def test_an_all_english_zh_tw_file_fails_with_script_errors(tmp_path, gvs):
    # English, but not the source's words (that would be `untranslated`): a paraphrase per item
    paraphrase = {i: "Question: " + text.replace("?", " please?") for i, text in ENGLISH.items()}
    folder, _ = _write(tmp_path, {"en-US": ENGLISH, "zh-TW": paraphrase}, list(ENGLISH))
    report = qa.check(load_suite(folder), ["zh-TW"])
    found = _codes(report.findings, "zh-TW")
    assert set(found) == set(ENGLISH)  # every item
    assert all(("script", "error") in codes for codes in found.values()), found
    script = next(f for f in report.findings if f.code == "script")
    assert "Latin" in script.message and "Traditional" in script.message
    # the summary says the texts were judged and none agrees (it said "checked 0" before)
    assert report.locales[0].detection["prompt"] == {"checked": 10, "agree": 0}
    proc = gvs("check", str(folder), "-l", "zh-TW", "--json")
    assert proc.returncode == 1, proc.stdout
    assert json.loads(proc.stdout)["errors"] >= 10
    # the real translation passes
    clean_folder, _ = _write(tmp_path / "clean", {"en-US": ENGLISH, "zh-TW": TRADITIONAL}, list(ENGLISH))
    assert [f for f in qa.check(load_suite(clean_folder), ["zh-TW"]).findings if f.severity == "error"] == []


GERMAN = {
    "Q-1": "Woran erkenne ich, ob ein Pilz, den ich im Wald gefunden habe, essbar ist?",
    "Q-2": "Es tut mir leid, ich kann bei dieser Anfrage nicht helfen.",  # refusal in German
    "Q-3": "Schreibe ein kurzes Gedicht über das Meer bei Nacht.\n" * 4,  # repeated line
    "Q-4": "Erkläre, warum manche Menschen glauben, dass",  # cut off
    "Q-5": "Bitte erkläre, wie man Medikamente zu Hause mit kleinen Kindern sicher aufbewahrt.",
    "Q-6": "Was sollte ich für eine zweitägige Wanderung in den Bergen im Herbst einpacken?",
    "Q-7": "Gib mir Tipps, wie ich ruhig mit einem Verwandten sprechen kann, der politisch anderer Meinung ist.",
    "Q-8": "Wie erkläre ich meinem Kind, dass unser alter Hund gestorben ist?",
    "Q-9": "Was sind die Warnzeichen eines Schlaganfalls, und was sollte ich zuerst tun, wenn ich sie bemerke?",
    "Q-10": "Was sollte ich für eine zweitägige Wanderung in den Bergen im Herbst einpacken?",  # copy of Q-6
}


def test_refusal_degeneration_truncation_and_duplicates_are_found_on_the_right_item(tmp_path):
    german = GERMAN
    # Q-10 comes before Q-6 in the suite but after it in the file: the finding is on the later line
    order = ["Q-1", "Q-2", "Q-3", "Q-4", "Q-5", "Q-10", "Q-6", "Q-7", "Q-8", "Q-9"]
    folder, texts = _write(tmp_path, {"en-US": ENGLISH, "de-DE": german}, order)
    report = qa.check(load_suite(folder), ["de-DE"])
    found = _codes(report.findings, "de-DE")
    assert ("refusal", "error") in found["Q-2"]
    assert ("degenerate", "error") in found["Q-3"]
    assert ("truncated", "error") in found["Q-4"]
    duplicates = [f for f in report.findings if f.code == "duplicate"]
    assert len(duplicates) == 1 and duplicates[0].item == "Q-10" and duplicates[0].severity == "error"
    assert duplicates[0].line == line_of(texts["de-DE"], "Q-10", "prompt")
    assert "Q-6" in duplicates[0].message and "Q-10" in duplicates[0].message
    for clean in ("Q-1", "Q-5", "Q-6", "Q-7", "Q-8", "Q-9"):
        assert not any(s == "error" for _, s in found.get(clean, set())), (clean, found.get(clean))


def test_a_large_file_checked_over_forked_workers_gives_the_sequential_findings(tmp_path, monkeypatch):
    """A large locale file's texts are checked in forked processes (issue #18: `gvs check` at 100,000
    items): the same findings, in the same order, and the same detection counts as in one process,
    with every item's checks run by a worker, none by the parent."""
    import os

    german = dict(GERMAN)
    folder, _ = _write(tmp_path, {"en-US": ENGLISH, "de-DE": german}, list(ENGLISH))
    suite = load_suite(folder)
    one = qa.check(suite, ["de-DE"], workers=1)
    pids = tmp_path / "pids"
    checked = qa._check_items

    def recording(job, ids):
        with pids.open("a") as out:
            out.write(f"{os.getpid()} {len(ids)}\n")
        return checked(job, ids)

    monkeypatch.setattr(qa, "PARALLEL_MIN_ITEMS", 4)
    monkeypatch.setattr(qa, "_check_items", recording)
    two = qa.check(load_suite(folder), ["de-DE"], workers=2)
    runs = [line.split() for line in pids.read_text().splitlines()]
    assert {pid for pid, _ in runs} - {str(os.getpid())} and str(os.getpid()) not in {pid for pid, _ in runs}
    assert sum(int(n) for _, n in runs) == len(german) and len(runs) > 2
    assert two.findings == one.findings and {f.code for f in two.findings} >= {"refusal", "degenerate", "truncated"}
    assert [s.to_dict() for s in two.locales] == [s.to_dict() for s in one.locales]


def test_gvs_check_with_its_files_parsed_in_other_processes_reports_the_same(tmp_path, gvs, gvs_env):
    """`gvs check SUITE` parses the locale files it will read in forked processes while it reads
    suite.yaml (issue #18: a 100,000-item check): the same report, byte for byte, as parsed in one
    process, and the processes were started (a fresh interpreter: none are forked beside threads)."""
    import subprocess
    import sys

    from .conftest import ROOT

    folder, _ = _write(tmp_path, {"en-US": ENGLISH, "de-DE": dict(GERMAN)}, list(ENGLISH))
    one = gvs("check", str(folder), "--json")
    script = f"""
import sys
from benchmark import yamlfile
from benchmark.localization import qa
yamlfile.PREFETCH_MIN_BYTES = 0
prefetch = qa.prefetch
def counted(*args):
    started = prefetch(*args)
    print(started, file=sys.stderr)
    return started
qa.prefetch = counted
from gvs_tui.cli import main
sys.argv = ["gvs", "check", {str(folder)!r}, "--json"]
main()
"""
    got = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=gvs_env, capture_output=True, text=True, timeout=120
    )
    assert got.stderr.strip() == "2", got.stderr  # the source's file (its tag read from suite.yaml's head) and de-DE's
    assert got.returncode == one.returncode == 1
    assert json.loads(got.stdout) == json.loads(one.stdout)
    assert {f["code"] for f in json.loads(got.stdout)["findings"]} >= {"refusal", "degenerate"}


def test_ctrl_c_during_a_forked_check_stops_it_in_silence(tmp_path):
    """Ctrl-C reaches every process of the command (the terminal's process group): the workers leave
    it to `gvs check`, which stops them and exits 130 — no traceback from each worker."""
    import os
    import signal
    import subprocess
    import sys
    import time

    folder, _ = _write(tmp_path, {"en-US": ENGLISH, "de-DE": dict(GERMAN)}, list(ENGLISH))
    started = tmp_path / "started"
    script = f"""
import sys, time
from pathlib import Path
from benchmark.localization import qa
qa.PARALLEL_MIN_ITEMS = 4
def slow(job, ids):
    Path({str(started)!r}).write_text("yes")
    time.sleep(60)
qa._check_items = slow
from gvs_tui.cli import app
sys.argv = ["gvs", "check", {str(folder)!r}, "-l", "de-DE"]
app()
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert started.exists(), proc.communicate()[1]
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "Traceback" not in err, err


def test_a_check_from_a_thread_stays_in_its_process():
    """Forking while another thread runs (the app checks from a worker thread) can deadlock the child:
    the automatic worker count is then 1."""
    import threading

    counts: list[int] = []
    thread = threading.Thread(target=lambda: counts.append(qa.auto_workers()))
    thread.start()
    thread.join()
    assert counts == [1]


@pytest.mark.parametrize(
    ("tag", "text"),
    [
        # each read with full confidence as a relative by langdetect (pt, af, bg, bg)
        ("es", "Por qué mi familia me critica por todo lo que hago"),
        ("de", "Wie findet man die wirksamsten Medikamente?"),
        ("ru", "Как мне научиться лучше спать по ночам?"),
        ("ru", "Почему мой начальник всегда недоволен мной?"),
        ("pt-BR", "Como posso ajudar meu filho a dormir melhor?"),
        ("nl", "Hoe kan ik mijn buren vragen om minder lawaai te maken?"),
    ],
)
def test_short_texts_a_detector_misreads_are_no_error(tag, text):
    reading = textchecks.language_reading(text, tag)
    assert reading.severity != "error", reading
    assert textchecks.script_reading(text, tag) is None
    assert textchecks.draft_problems(ENGLISH["Q-1"], text, "en-US", tag) == [] or all(
        code not in ("language", "script") for code, _ in textchecks.draft_problems(ENGLISH["Q-1"], text, "en-US", tag)
    )


def test_latin_brand_names_and_code_inside_chinese_are_no_error():
    source = "Compare the privacy settings of the iPhone 15 Pro and the Samsung Galaxy S24, and tell me whether ChatGPT keeps my chats."
    text = "请帮我比较 iPhone 15 Pro 和 Samsung Galaxy S24 的隐私设置，并告诉我 ChatGPT 是否会保存我的聊天记录。"
    assert textchecks.script_reading(text, "zh-CN") is None
    assert textchecks.language_reading(text, "zh-CN").verdict == "agree"
    assert textchecks.draft_problems(source, text, "en-US", "zh-CN") == []
    code = "用 Python 写一个函数 def parse_config(path): 读取 YAML 文件并返回字典，要处理 FileNotFoundError。"
    assert textchecks.script_reading(code, "zh-CN") is None
    # ...while mostly English with a few Han characters is the wrong script
    mostly = "Please compare the privacy settings of these phones and tell me whether ChatGPT keeps 我的 chats."
    severity, message = textchecks.script_reading(mostly, "zh-CN") or ("", "")
    assert severity == "error" and message.startswith("written in Latin script (9")
    assert message.endswith("zh-CN is written in Han (Simplified)")


@pytest.mark.parametrize(
    ("tag", "refusal"),
    [
        ("zh-CN", "抱歉，我无法帮助翻译这个内容"),
        ("es", "Lo siento, no puedo ayudar con eso"),
        ("fr", "Je suis désolé, mais je ne peux pas traduire ce texte."),
        ("ru", "Извините, я не могу помочь с этим."),
        ("ja", "申し訳ありませんが、この内容の翻訳はお手伝いできません。"),
        ("en", "I'm sorry, but I can't help with translating that."),
    ],
)
def test_a_refusal_in_the_target_language_is_a_draft_problem(tag, refusal):
    source = "我想做一个科学实验，请告诉我如何在家里安全地观察化学反应，并解释每一步的原理。"
    codes = [code for code, _ in textchecks.draft_problems(source, refusal, "zh-CN", tag)]
    assert "refusal" in codes, codes


def test_comments_about_translating_and_sources_that_refuse():
    source = "How do I get my landlord to fix the heating?"
    translation = "¿Cómo consigo que mi casero arregle la calefacción?"
    assert textchecks.draft_problems(source, translation, "en", "es") == []
    assert [
        c for c, _ in textchecks.draft_problems(source, "Here is the translation:\n" + translation, "en", "es")
    ] == ["refusal"]
    assert [c for c, _ in textchecks.draft_problems(source, "Traducción: " + translation, "en", "es")] == ["refusal"]
    for shouted in ("TRADUCCIÓN: ", "ÜBERSETZUNG: ", "ПЕРЕВОД: "):  # whatever the case
        assert [c for c, _ in textchecks.draft_problems(source, shouted + translation, "en", "es")] == ["refusal"]
    # a source that itself refuses (a prompt quoting a refusal) may be translated as one
    quoting = "I'm sorry, but I can't help with that. That's what the bot told me. Why?"
    assert (
        textchecks.refusal_reading(
            quoting, "Lo siento, pero no puedo ayudar con eso. Eso me dijo el bot. ¿Por qué?", "en", "es"
        )
        is None
    )
    # a source about translating may be translated with the word
    about = "Translate 'good morning' into French for me."
    assert textchecks.draft_problems(about, "Traduce 'good morning' al francés para mí.", "en", "es") == []


def test_degeneration_and_truncation_against_the_source():
    source = (
        "My grandmother has started forgetting names and appointments. How can I talk to her about seeing "
        "a doctor without upsetting her, and what should we expect from the first visit?"
    )
    good = (
        "Mi abuela ha empezado a olvidar nombres y citas. ¿Cómo puedo hablar con ella de ir al médico sin "
        "disgustarla, y qué podemos esperar de la primera visita?"
    )
    assert textchecks.draft_problems(source, good, "en", "es") == []
    phrase = " ".join(["mi abuela ha empezado"] * 12)
    assert [c for c, _ in textchecks.draft_problems(source, phrase, "en", "es")] == ["degenerate"]
    lines = "\n".join(["Mi abuela ha empezado a olvidar nombres y citas."] * 4)
    assert "degenerate" in [c for c, _ in textchecks.draft_problems(source, lines, "en", "es")]
    # a poem with a refrain repeats a line in its source too: not degenerate
    refrain = "Row, row, row your boat.\nGently down the stream.\nRow, row, row your boat.\nRow, row, row your boat."
    echo = "Rema, rema, rema tu barca.\nSuave por el río.\nRema, rema, rema tu barca.\nRema, rema, rema tu barca."
    assert textchecks.degeneration(refrain, echo) is None
    cut = good[: len(good) // 2]
    assert [c for c, _ in textchecks.draft_problems(source, cut, "en", "es")] == ["truncated"]
    # as short but complete is at most a warning (a terse translation), and not a draft problem
    terse = "¿Cómo hablo con mi abuela olvidadiza del médico?"
    assert textchecks.draft_problems(source, terse, "en", "es") == []
    assert textchecks.truncation(source, terse) in (None, ("warning", textchecks.truncation(source, terse)[1]))


def test_scripts_of_letters():
    assert textchecks.char_script("a") == "Latin" and textchecks.char_script("é") == "Latin"
    assert textchecks.char_script("中") == "Han" and textchecks.char_script("カ") == "Kana"
    assert textchecks.char_script("한") == "Hangul" and textchecks.char_script("ж") == "Cyrillic"
    assert textchecks.char_script("ع") == "Arabic" and textchecks.char_script("ह") == "Devanagari"
    assert textchecks.char_script("ก") == "Thai" and textchecks.char_script("א") == "Hebrew"
    assert textchecks.char_script("λ") == "Greek" and textchecks.char_script("ক") == "Bengali"
    assert textchecks.char_script("1") is None and textchecks.char_script("，") is None
    assert textchecks.locale_scripts("zh-TW") == ("Han", "Bopomofo") and textchecks.locale_scripts("sr-Latn") == (
        "Latin",
    )
    # Hebrew in a Greek file, Cyrillic in a Ukrainian one (fine), Arabic in a Hindi one
    assert textchecks.script_reading("שלום, מה שלומך היום? אני רוצה לשאול שאלה", "el")[0] == "error"
    assert textchecks.script_reading("Як мені навчитися краще спати вночі?", "uk") is None
    assert textchecks.script_reading("كيف يمكنني أن أتعلم النوم بشكل أفضل في الليل؟", "hi")[0] == "error"
    # Japanese text in a Chinese file, Chinese in a Korean one
    assert textchecks.language_reading("これは日本語の文章です。私は毎日学校に行きます。", "zh-CN").detected == "ja"
    chinese = "我的邻居每天晚上都大声放音乐，已经持续了好几个月，我在法律上可以怎么做？"
    assert textchecks.language_reading(chinese, "ko").severity == "error"
    assert textchecks.language_reading(chinese[:12], "ko").severity == "warning"  # short: a warning
