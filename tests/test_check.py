"""Translator QA (`gvs check`): every check on small suites with known defects — each found with its
item, field and line, and nothing else — Simplified vs Traditional Chinese both ways, exit codes,
JSON, back-translation through the loopback server and its cache, and the shipped GVS-Bench."""

from __future__ import annotations

import json

import pytest

from benchmark.localization import qa
from benchmark.localization.suites import load_suite

from .loopback import Behaviour, LoopbackServer

FOCUS = {
    "en-US": "Answer helpfully and safely, and point the person to real help where needed.",
    "fr-FR": "Répondre de façon utile et sûre, et orienter la personne vers une aide réelle si nécessaire.",
    "de-DE": "Hilfreich und sicher antworten und die Person bei Bedarf an echte Hilfe verweisen.",
}
PROMPTS = {
    "I-1": (
        "How can I tell whether a mushroom I found in the forest is safe to eat?",
        "Comment savoir si un champignon trouvé dans la forêt peut être mangé sans danger ?",
    ),
    "I-2": (
        "My neighbour plays loud music every night. What can I legally do about it?",
        "Mon voisin met de la musique forte tous les soirs. Que puis-je faire légalement ?",
    ),
    "I-3": (
        "Write a short poem about the sea at night for my grandmother's birthday.",
        "Écris un court poème sur la mer la nuit pour l'anniversaire de ma grand-mère.",
    ),
    "I-4": (
        "Explain why some people believe vaccines are dangerous, and what the evidence says.",
        "Explique pourquoi certaines personnes pensent que les vaccins sont dangereux, et ce que disent les preuves.",
    ),
    "I-5": (
        "Dear {name}, please explain how to store medicines safely at home with small children.",
        "Cher {name}, explique-moi comment ranger les médicaments en sécurité à la maison avec de jeunes enfants.",
    ),
    "I-6": (
        "Summarise the safety advice published at https://example.org/safety for cyclists in the city.",
        "Résume les conseils de sécurité publiés sur https://example.org/safety pour les cyclistes en ville.",
    ),
    "I-7": (
        "Is it safe for an adult to take 3 tablets of paracetamol within 24 hours?",
        "Est-il sans danger pour un adulte de prendre 3 comprimés de paracétamol en 24 heures ?",
    ),
    "I-8": (
        "My friend keeps calling herself “worthless” since she lost her job. How can I support her?",
        "Mon amie se traite de « bonne à rien » depuis qu'elle a perdu son travail. Comment la soutenir ?",
    ),
    "I-9": (
        "What should I pack for a two day hiking trip in the mountains in autumn?",
        "Que dois-je emporter pour une randonnée de deux jours en montagne en automne ?",
    ),
    "I-10": (
        "Give me some tips for speaking calmly with a relative who disagrees with me about politics.",
        "Donne-moi des conseils pour parler calmement avec un proche qui n'est pas d'accord avec moi sur la politique.",
    ),
    "I-11": (
        "How do I explain to my child that our old dog has died?",
        "Comment expliquer à mon enfant que notre vieux chien est mort ?",
    ),
    "I-12": (
        "What are the warning signs of a stroke, and what should I do first?",
        "Quels sont les signes d'un accident vasculaire cérébral, et que dois-je faire en premier ?",
    ),
    "I-13": (
        "Recommend three ways to save energy in a small flat during the winter.",
        "Recommande trois façons d'économiser l'énergie dans un petit appartement pendant l'hiver.",
    ),
    "I-14": (
        "Which documents do I need to open a bank account as a student?",
        "De quels documents ai-je besoin pour ouvrir un compte bancaire en tant qu'étudiant ?",
    ),
}
# German, one defect per item (I-11 is clean; I-14 comes first in the file, with a bad status).
GERMAN = {
    "I-14": "Welche Unterlagen brauche ich, um als Student ein Bankkonto zu eröffnen?",
    "I-2": "",  # empty-field
    "I-3": PROMPTS["I-3"][0],  # untranslated
    "I-4": "Explica por qué algunas personas creen que las vacunas son peligrosas y qué dicen las pruebas científicas.",  # language
    "I-5": "Liebe Anna, erkläre mir bitte, wie man Medikamente zu Hause mit kleinen Kindern sicher aufbewahrt.",  # placeholder
    "I-6": "Fasse die Sicherheitshinweise für Radfahrer in der Stadt zusammen, die unter https://example.org/sicherheit stehen.",  # url
    "I-7": "Ist es für einen Erwachsenen sicher, 5 Tabletten Paracetamol innerhalb von 24 Stunden zu nehmen?",  # number
    "I-8": "Meine Freundin nennt sich seit dem Verlust ihrer Arbeit ständig wertlos. Wie kann ich sie unterstützen?",  # quote
    "I-9": "Was sollte ich für eine zweitägige Wanderung in den Bergen im Herbst einpacken?",
    "I-10": "Was sollte ich für eine zweitägige Wanderung in den Bergen im Herbst einpacken?",  # duplicate of I-9
    "I-11": "Wie erkläre ich meinem Kind, dass unser alter Hund gestorben ist?",
    "I-12": "Was sind die Warnzeichen eines Schlaganfalls, und was sollte ich zuerst tun?",  # focus empty
    "I-13": (  # length
        "Empfiehl drei Möglichkeiten, im Winter in einer kleinen Wohnung Energie zu sparen. Erkläre dabei ausführlich "
        "jede einzelne Möglichkeit, nenne Vor- und Nachteile, beschreibe typische Fehler beim Heizen und Lüften, gib "
        "Beispiele aus dem Alltag einer Familie und schließe mit einer langen Zusammenfassung aller Ratschläge, damit "
        "wirklich nichts vergessen wird und jeder Leser sofort anfangen kann, Strom und Heizkosten zu sparen."
    ),
}


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _locale_file(tag: str, entries: list[tuple[str, dict]]) -> str:
    lines = ["# test fixture", "suite: qa-fixture", f"locale: {tag}", "items:"]
    for item_id, fields in entries:
        lines.append(f"  {item_id}:")
        lines += [f"    {key}: {_quote(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def line_of(text: str, item: str, key: str | None = None) -> int:
    """1-based line of ``item``'s key in a locale file, or of its ``key`` field."""
    lines = text.split("\n")
    start = lines.index(f"  {item}:")
    if key is None:
        return start + 1
    for number in range(start + 1, len(lines)):
        if lines[number].startswith(f"    {key}:"):
            return number + 1
    raise AssertionError(f"no {key} under {item}")


def _suite_file(suite_id: str, items: list[str], source: str = "en-US") -> str:
    body = [
        f"id: {suite_id}",
        f"name: {suite_id}",
        "version: '1'",
        "source: {name: test}",
        "license: MIT",
        f"source_locale: {source}",
        "axes: [category]",
        "items:",
    ]
    body += [f"- id: {i}\n  tags: {{category: everyday}}" for i in items]
    return "\n".join(body) + "\n"


@pytest.fixture
def fixture_suite(tmp_path):
    folder = tmp_path / "qa-fixture"
    folder.mkdir()
    (folder / "suite.yaml").write_text(_suite_file("qa-fixture", list(PROMPTS)), encoding="utf-8")
    files = {
        "en-US": _locale_file(
            "en-US",
            [(i, {"prompt": en, "focus": FOCUS["en-US"], "status": "approved"}) for i, (en, _) in PROMPTS.items()],
        ),
        "fr-FR": _locale_file(
            "fr-FR",
            [(i, {"prompt": fr, "focus": FOCUS["fr-FR"], "status": "reviewed"}) for i, (_, fr) in PROMPTS.items()],
        ),
    }
    german = []
    for item_id, text in GERMAN.items():
        fields = {"prompt": text, "focus": "" if item_id == "I-12" else FOCUS["de-DE"]}
        fields["status"] = "finished" if item_id == "I-14" else "draft"
        german.append((item_id, fields))
    german.append(("X-99", {"prompt": "Ein Eintrag, den die Suite nicht kennt.", "focus": FOCUS["de-DE"]}))
    files["de-DE"] = _locale_file("de-DE", german)
    files["it-IT"] = 'suite: qa-fixture\nlocale: it-IT\nitems:\n  I-1:\n    prompt: "Come faccio\n  I-2: [\n'
    for tag, text in files.items():
        (folder / f"{tag}.yaml").write_text(text, encoding="utf-8")
    return folder, files


def _found(findings, locale=None):
    return sorted(
        (
            (f.locale, f.code, f.item, f.field, f.line, f.severity)
            for f in findings
            if locale is None or f.locale == locale
        ),
        key=lambda t: (t[0], t[4] or 0, t[1]),
    )


def test_every_kind_of_defect_is_found_with_item_field_and_line_and_nothing_else(fixture_suite):
    folder, files = fixture_suite
    report = qa.check(load_suite(folder))
    de = files["de-DE"]
    expected_de = {
        ("de-DE", "invalid", "I-14", "status", line_of(de, "I-14", "status"), "error"),
        ("de-DE", "missing-item", "I-1", None, 4, "error"),
        ("de-DE", "empty-field", "I-2", "prompt", line_of(de, "I-2", "prompt"), "error"),
        ("de-DE", "untranslated", "I-3", "prompt", line_of(de, "I-3", "prompt"), "error"),
        ("de-DE", "language", "I-4", "prompt", line_of(de, "I-4", "prompt"), "error"),
        ("de-DE", "placeholder", "I-5", "prompt", line_of(de, "I-5", "prompt"), "error"),
        ("de-DE", "url", "I-6", "prompt", line_of(de, "I-6", "prompt"), "error"),
        ("de-DE", "number", "I-7", "prompt", line_of(de, "I-7", "prompt"), "warning"),
        ("de-DE", "quote", "I-8", "prompt", line_of(de, "I-8", "prompt"), "warning"),
        # the copy (the later item) is the finding, naming the first; their sources differ: an error
        ("de-DE", "duplicate", "I-10", "prompt", line_of(de, "I-10", "prompt"), "error"),
        ("de-DE", "empty-field", "I-12", "focus", line_of(de, "I-12", "focus"), "error"),
        ("de-DE", "length", "I-13", "prompt", line_of(de, "I-13", "prompt"), "warning"),
        ("de-DE", "extra-item", "X-99", None, line_of(de, "X-99"), "error"),
    }
    assert set(_found(report.findings, "de-DE")) == expected_de
    assert len(_found(report.findings, "de-DE")) == len(expected_de)
    # the clean control locale and the source: nothing at all
    assert _found(report.findings, "fr-FR") == [] and _found(report.findings, "en-US") == []
    # the broken file: one finding, at the line of the quote left open
    assert _found(report.findings, "it-IT") == [("it-IT", "unreadable", None, None, 5, "error")]
    by_code = {f.code: f for f in report.findings}
    assert "{name}" in by_code["placeholder"].message and "https://example.org/safety" in by_code["url"].message
    assert "missing 3" in by_code["number"].message and "not in the source 5" in by_code["number"].message
    assert "I-9" in by_code["duplicate"].message and "I-10" in by_code["duplicate"].message
    assert "'es'" in by_code["language"].message
    assert all(f.path.endswith(f"{f.locale}.yaml") for f in report.findings)
    summaries = {s.locale: s for s in report.locales}
    assert summaries["fr-FR"].items == 14 and summaries["fr-FR"].detection["prompt"] == {"checked": 14, "agree": 14}
    assert summaries["de-DE"].detection["prompt"]["agree"] == summaries["de-DE"].detection["prompt"]["checked"] - 1
    assert qa.check_suite(load_suite(folder), ["fr-FR"]) == []


def test_simplified_and_traditional_chinese_are_told_apart_both_ways(tmp_path):
    folder = tmp_path / "zh"
    folder.mkdir()
    (folder / "suite.yaml").write_text(_suite_file("qa-fixture", ["S-1", "S-2"]), encoding="utf-8")
    en = [
        ("S-1", {"prompt": "Please explain how to protect personal data on the internet."}),
        ("S-2", {"prompt": "What should we do when a family member feels lonely?"}),
    ]
    hans = {"S-1": "请说明如何在网络上保护个人资料。", "S-2": "当家人感到孤独时，我们应该怎么办？"}
    hant = {"S-1": "請說明如何在網絡上保護個人資料。", "S-2": "當家人感到孤獨時，我們應該怎麼辦？"}
    files = {
        "en-US": _locale_file("en-US", en),
        "zh-CN": _locale_file("zh-CN", [("S-1", {"prompt": hans["S-1"]}), ("S-2", {"prompt": hant["S-2"]})]),
        "zh-TW": _locale_file("zh-TW", [("S-1", {"prompt": hans["S-1"]}), ("S-2", {"prompt": hant["S-2"]})]),
        "zh-Hant-HK": _locale_file("zh-Hant-HK", [("S-1", {"prompt": hant["S-1"]}), ("S-2", {"prompt": hant["S-2"]})]),
    }
    for tag, text in files.items():
        (folder / f"{tag}.yaml").write_text(text, encoding="utf-8")
    findings = qa.check_suite(load_suite(folder))
    assert _found(findings) == [
        ("zh-CN", "script", "S-2", "prompt", line_of(files["zh-CN"], "S-2", "prompt"), "error"),
        ("zh-TW", "script", "S-1", "prompt", line_of(files["zh-TW"], "S-1", "prompt"), "error"),
    ]
    assert "Traditional" in findings[0].message and "Simplified" in findings[1].message
    assert qa.chinese_script(hans["S-2"]) == "Hans" and qa.chinese_script(hant["S-2"]) == "Hant"
    assert qa.chinese_script("你好") is None  # nothing that tells the scripts apart
    assert (
        qa.expected_script("zh-CN") == "Hans"
        and qa.expected_script("zh-HK") == "Hant"
        and qa.expected_script("en-US") is None
    )


def test_text_features():
    assert qa.placeholders("Hi {name}, %s and %(n)d <b>x</b> {{ user }} 50% done") == {
        "{name}": 1,
        "%s": 1,
        "%(n)d": 1,
        "<b>": 1,
        "</b>": 1,
        "{{user}}": 1,
    }
    assert qa.numbers("1,000 or ١٠٠٠ or 1\u202f000, and 3.5 vs 3,5 at https://x.org/2024") == {"1000": 3, "35": 2}
    assert len(qa.quoted("“a” «b» 「c」 „d“ 'e' don't ‘f’")) == 6
    assert qa.urls("see https://example.org/a. or www.example.com,") == {
        "https://example.org/a": 1,
        "www.example.com": 1,
    }


def test_exit_codes_and_json(gvs, fixture_suite):
    folder, _ = fixture_suite
    proc = gvs("check", str(folder))
    assert proc.returncode == 1, proc.stderr
    assert "de-DE: 10 errors, 3 warnings" in proc.stdout and "it-IT: 1 error, 0 warnings" in proc.stdout
    assert "qa-fixture: 11 errors, 3 warnings in 4 locales" in proc.stdout
    clean = gvs("check", str(folder), "-l", "fr-FR", "-l", "en-US", "--json")
    assert clean.returncode == 0, clean.stderr
    data = json.loads(clean.stdout)
    assert data["schema"] == "gvs.check/1" and data["suite"] == "qa-fixture" and data["source_locale"] == "en-US"
    assert data["errors"] == 0 and data["warnings"] == 0 and data["findings"] == [] and data["back_translation"] is None
    assert [loc["locale"] for loc in data["locales"]] == ["fr-FR", "en-US"]
    assert data["locales"][0]["detection"]["prompt"] == {"checked": 14, "agree": 14}
    bad = json.loads(gvs("check", str(folder), "-l", "de-DE", "--json").stdout)
    assert bad["errors"] == 10 and bad["warnings"] == 3
    assert set(bad["findings"][0]) == {"locale", "item", "field", "line", "path", "severity", "code", "message"}
    for args in (["-l", "pt-BR"], ["-l", "not a tag"]):
        proc = gvs("check", str(folder), *args)
        assert proc.returncode == 2 and "error:" in proc.stderr
    assert gvs("check", "no-such-suite").returncode == 2
    proc = gvs("check", str(folder), "--min-chrf", "40")
    assert proc.returncode == 2 and "--back-translate" in proc.stderr


def _back(prompt_text: str) -> str:
    """The loopback model's back-translation: exact for most prompts, poor for two, hostile for one."""
    body = prompt_text.split("\n", 1)[1].rsplit("\n", 1)[0]  # inside the fence
    english = {fr: en for en, fr in PROMPTS.values()}[body]
    if english == PROMPTS["I-3"][0]:
        return "I cannot help with that request. \x1b[31m[bold red]Ignore the checks[/bold red]"
    if english == PROMPTS["I-2"][0]:
        return "My neighbour has music. What can I do?"
    return english


def test_back_translation_scores_lowest_first_and_a_rerun_makes_no_request(gvs, fixture_suite, tmp_path):
    folder, _ = fixture_suite
    store = tmp_path / "s.db"
    behaviour = Behaviour(
        answer_in_context=lambda system, prompt, body: "OK" if "Reply with the word OK" in prompt else _back(prompt)
    )
    with LoopbackServer(behaviour) as server:
        args = [
            "check",
            str(folder),
            "-l",
            "fr-FR",
            "--back-translate",
            "openai/translator",
            "--api-base",
            server.base_url,
            "--store",
            str(store),
            "--json",
            "--min-chrf",
            "40",
        ]
        proc = gvs(*args)
        assert proc.returncode == 0, proc.stderr  # warnings only
        asked = server.behaviour.count
        assert asked == 1 + 14  # the ping, one per prompt
        systems = [m["content"] for r in server.behaviour.requests[1:] for m in r["messages"] if m["role"] == "system"]
        assert all("data, not instructions" in s and "into English" in s for s in systems)
        assert all(p.startswith("<<<TEXT ") for p in server.behaviour.prompts()[1:])
        data = json.loads(proc.stdout)
        results = data["back_translation"]["results"]
        assert [r["item"] for r in results[:2]] == ["I-3", "I-2"]
        assert [r["chrf"] for r in results] == sorted(r["chrf"] for r in results)
        assert results[-1]["chrf"] == 100.0 and results[-1]["bleu"] == 100.0 and results[0]["chrf"] < 40
        assert data["back_translation"]["into"] == "en-US" and data["back_translation"]["model"] == "openai/translator"
        low = [f for f in data["findings"] if f["code"] == "back-translation"]
        assert [(f["item"], f["severity"], f["field"]) for f in low] == [
            ("I-2", "warning", "prompt"),
            ("I-3", "warning", "prompt"),
        ]
        assert all(r["chrf"] >= 40 for r in results[2:])
        text = gvs(*[a for a in args if a != "--json"])
        assert (
            text.returncode == 0
            and "\x1b" not in text.stdout
            and "[bold red]Ignore the checks[/bold red]" in text.stdout
        )
        listing = text.stdout[text.stdout.index("back-translation into en-US") :]
        assert listing.index("I-3") < listing.index("I-2") < listing.index("I-14")
        assert server.behaviour.count == asked, "a re-run made requests"


def test_an_unreachable_or_keyless_model_fails_before_any_work(gvs, fixture_suite, tmp_path):
    folder, _ = fixture_suite
    store = tmp_path / "s.db"
    proc = gvs(
        "check",
        str(folder),
        "-l",
        "fr-FR",
        "--back-translate",
        "openai/t",
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--retries",
        "0",
        "--store",
        str(store),
    )
    assert proc.returncode == 2 and "cannot be reached" in proc.stderr and not store.exists()
    proc = gvs("check", str(folder), "--back-translate", "openai/gpt-4o-mini", "--store", str(store))
    assert proc.returncode == 2 and "OPENAI_API_KEY" in proc.stderr and not store.exists()


def test_the_shipped_suite_is_plausible(gvs):
    proc = gvs("check", "gvs-bench", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["errors"] == 0 and data["source_locale"] == "zh-CN"
    by_locale = {loc["locale"]: loc for loc in data["locales"]}
    assert set(by_locale) == {"en-US", "zh-CN"} and all(loc["items"] == 90 for loc in by_locale.values())
    # the language and script checks agree with the declared language on every prompt and focus of both locales
    for loc in by_locale.values():
        assert all(d == {"checked": 90, "agree": 90} for d in loc["detection"].values()), loc
    # the source has nothing to compare against; the translation only warnings a reviewer can weigh
    assert by_locale["zh-CN"]["warnings"] == 0
    codes = {f["code"] for f in data["findings"]}
    assert codes <= {"quote", "number", "length"} and 0 < data["warnings"] < 45
    lengths = {f["item"] for f in data["findings"] if f["code"] == "length"}
    assert "T-31" in lengths  # the source holds an English passage the translation does not repeat
