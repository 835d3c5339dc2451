"""Machine drafts you can trust to review (`gvs locale add --translate-with`, issue #19): a reply that
is a refusal (in English or in the target language) or a degenerate loop is stored as needs-work with
the reason, never as a machine draft; `--limit N` and `--items ID…` draft a subset, a later run drafts
the rest without touching what the file holds (human work included); the same command again, or the
same drafts after the file is deleted, make no model call (the store's cache). Through a real
loopback OpenAI-compatible server whose answers are scripted."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from benchmark.localization import review, textchecks, translate
from benchmark.localization.suites import load_suite

from .conftest import ROOT
from .loopback import Behaviour, LoopbackServer

MODEL = "openai/translator"
TO_TRADITIONAL = str.maketrans({pair[0]: pair[1] for pair in textchecks._ST_PAIRS})
ENGLISH_REFUSAL = "I'm sorry, but I can't help with that."
CHINESE_REFUSAL = "很抱歉，我無法提供這方面的幫助。"  # a refusal in the target language (zh-TW)


@pytest.fixture
def bench(tmp_path) -> Path:
    """A copy of the shipped GVS-Bench (90 items, zh-CN source) that the tests may write into."""
    folder = tmp_path / "gvs-bench"
    shutil.copytree(ROOT / "locales" / "gvs-bench", folder)
    return folder


def _fenced(prompt: str) -> str:
    return prompt.split("\n", 1)[1].rsplit("\n", 1)[0]


def _translator(source: dict):
    """OK to the ping; T-1's prompt gets an English refusal, T-2's a Chinese one, T-3's its
    translation repeated 70 times; every other text a plausible zh-TW translation (Traditional
    characters)."""
    scripted = {
        source["T-1"].prompt: ENGLISH_REFUSAL,
        source["T-2"].prompt: CHINESE_REFUSAL,
        source["T-3"].prompt: "\n".join([source["T-3"].prompt.translate(TO_TRADITIONAL)] * 70),
    }

    def answer(system: str, prompt: str, body: dict) -> str:
        if "Reply with the word OK" in prompt:
            return "OK"
        text = _fenced(prompt)
        return scripted.get(text, text.translate(TO_TRADITIONAL))

    return answer


def _fields(texts) -> int:
    return sum(1 + bool(t.focus.strip()) for t in texts)


def _draft(gvs, folder: Path, server: LoopbackServer, store: Path, *extra: str):
    return gvs(
        "locale",
        "add",
        str(folder),
        "zh-TW",
        "--translate-with",
        MODEL,
        "--api-base",
        server.base_url,
        "--store",
        str(store),
        *extra,
    )


def _statuses(folder: Path) -> dict[str, str]:
    return {t.id: t.status for t in load_suite(folder).variant("zh-TW")}


def test_subsets_then_the_rest_refusals_and_loops_need_work_and_nothing_is_asked_twice(
    gvs, bench, tmp_path, monkeypatch
):
    store = tmp_path / "s.db"
    source = {t.id: t for t in load_suite(bench).variant("zh-CN")}
    path = bench / "zh-TW.yaml"
    with LoopbackServer(Behaviour(answer_in_context=_translator(source))) as server:
        # 1. --limit 2: the first two items of the suite, both refusals -> needs-work with the reason.
        first = _draft(gvs, bench, server, store, "--limit", "2")
        assert first.returncode == 0, first.stderr
        assert server.behaviour.count == 1 + _fields([source["T-1"], source["T-2"]])  # the ping, then each field
        drafted = {t.id: t for t in load_suite(bench).variant("zh-TW")}
        assert list(drafted) == ["T-1", "T-2"]
        for item_id, reply in (("T-1", ENGLISH_REFUSAL), ("T-2", CHINESE_REFUSAL)):
            t = drafted[item_id]
            assert t.status == "needs-work"
            assert t.prompt == source[item_id].prompt  # the source to translate, not the refusal
            assert t.focus == source[item_id].focus.translate(TO_TRADITIONAL)  # the field that passed
            assert "refusal" in t.review_comment and reply in t.review_comment
            assert t.review_comment.startswith("machine draft rejected") and "\n" not in t.review_comment
            assert t.notes == translate.draft_note(MODEL, "zh-CN")
        assert "script" in drafted["T-1"].review_comment  # English in a zh-TW file
        states = review.review_states(load_suite(bench), "zh-TW")
        assert states["T-1"].comment == drafted["T-1"].review_comment  # what a reviewer is shown
        assert "2 items drafted by openai/translator from zh-CN: 0 machine (to review), 2 needs-work" in first.stdout
        assert "needs-work, refusal: 2 items (T-1, T-2)" in first.stdout
        assert "88 items of zh-CN not drafted yet" in first.stdout

        # 2. --items: exactly those (in suite order, however given); a 70-fold loop is degenerate.
        asked = server.behaviour.count
        second = _draft(gvs, bench, server, store, "--items", "T-5,T-3", "--items", "T-4")
        assert second.returncode == 0, second.stderr
        assert server.behaviour.count == asked + _fields([source[i] for i in ("T-3", "T-4", "T-5")])  # ping cached
        assert _statuses(bench) == {
            "T-1": "needs-work",
            "T-2": "needs-work",
            "T-3": "needs-work",
            "T-4": "machine",
            "T-5": "machine",
        }
        drafted = {t.id: t for t in load_suite(bench).variant("zh-TW")}
        assert "degenerate" in drafted["T-3"].review_comment and "70 times" in drafted["T-3"].review_comment
        assert drafted["T-3"].prompt == source["T-3"].prompt
        assert drafted["T-4"].prompt == source["T-4"].prompt.translate(TO_TRADITIONAL)
        assert drafted["T-4"].review_comment == ""
        assert "added to" in second.stdout and "needs-work, degenerate: 1 item (T-3)" in second.stdout
        assert "3 items drafted" in second.stdout and "2 machine (to review), 1 needs-work" in second.stdout

        # 3. Human work: T-4 approved, a comment written into the file. Asking for T-4 again skips it.
        monkeypatch.setenv("GVS_REVIEWER", "Mei")
        review.set_status(load_suite(bench), "zh-TW", "T-4", "approved")
        path.write_text(
            "# checked by Mei, do not lose this line\n" + path.read_text(encoding="utf-8"), encoding="utf-8"
        )
        human = path.read_text(encoding="utf-8")
        asked = server.behaviour.count
        third = _draft(gvs, bench, server, store, "--items", "T-4", "--items", "T-6")
        assert third.returncode == 0, third.stderr
        assert server.behaviour.count == asked + _fields([source["T-6"]])
        assert "1 item skipped: in the file already, left as they are (1 approved)" in third.stdout
        after = path.read_text(encoding="utf-8")
        added = after.replace(human, "", 1) if human in after else None
        assert added is not None and added.startswith("  T-6:"), after  # appended after T-5, nothing else changed
        assert _statuses(bench)["T-4"] == "approved" and _statuses(bench)["T-6"] == "machine"

        # 4. The same command without a subset drafts the rest, in suite order, and leaves the rest alone.
        asked = server.behaviour.count
        rest = _draft(gvs, bench, server, store)
        assert rest.returncode == 0, rest.stderr
        rest_ids = [i for i in source if i not in {"T-1", "T-2", "T-3", "T-4", "T-5", "T-6"}]
        assert server.behaviour.count == asked + _fields([source[i] for i in rest_ids])
        assert f"{len(rest_ids)} items drafted" in rest.stdout and "6 items skipped" in rest.stdout
        statuses = _statuses(bench)
        assert list(statuses) == list(source)
        assert [i for i, s in statuses.items() if s == "needs-work"] == ["T-1", "T-2", "T-3"]
        assert statuses["T-4"] == "approved" and sum(s == "machine" for s in statuses.values()) == 86
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# checked by Mei") and "reviewer: Mei" in text
        assert [m.group(1) for m in re.finditer(r"^  (T-\d+):", text, re.M)] == list(source)

        # 5. The same command again: nothing left to draft, no call at all (not even the ping), file unchanged.
        asked, final = server.behaviour.count, path.read_bytes()
        again = _draft(gvs, bench, server, store)
        assert again.returncode == 0, again.stderr
        assert server.behaviour.count == asked, "a second identical command made requests"
        assert path.read_bytes() == final
        assert "nothing to draft" in again.stdout and "90 items skipped" in again.stdout

        # 6. The same drafts from scratch come wholly from the store's cache: same verdicts, no call.
        path.unlink()
        scratch = _draft(gvs, bench, server, store)
        assert scratch.returncode == 0, scratch.stderr
        assert server.behaviour.count == asked, "drafts already made were asked again"
        again_statuses = _statuses(bench)
        assert again_statuses == {**statuses, "T-4": "machine"}  # T-4's approval was human work, now gone with the file
        assert "87 machine (to review), 3 needs-work" in scratch.stdout


def test_a_failed_call_leaves_the_item_out_and_the_same_command_retries_only_it(gvs, bench, tmp_path):
    store = tmp_path / "s.db"
    source = {t.id: t for t in load_suite(bench).variant("zh-CN")}
    failing = source["T-5"].prompt
    behaviour = Behaviour(answer_in_context=_translator(source), permanent={failing[:20]: "500"})
    with LoopbackServer(behaviour) as server:
        made = _draft(gvs, bench, server, store, "--items", "T-4,T-5,T-6", "--retries", "0")
        assert made.returncode == 1
        assert "1 item not drafted, the call failed: T-5" in made.stderr
        assert _statuses(bench) == {"T-4": "machine", "T-6": "machine"}
        behaviour.permanent.clear()  # the server recovers
        asked = server.behaviour.count
        retry = _draft(gvs, bench, server, store, "--items", "T-4,T-5,T-6", "--retries", "0")
        assert retry.returncode == 0, retry.stderr
        assert server.behaviour.count == asked + 1  # T-5's prompt only: its focus and the others are cached
        assert _statuses(bench) == {"T-4": "machine", "T-5": "machine", "T-6": "machine"}


def test_refused_before_any_call(gvs, bench, tmp_path):
    store = tmp_path / "s.db"
    with LoopbackServer(Behaviour(answer_in_context=lambda s, p, b: "OK")) as server:
        unknown = _draft(gvs, bench, server, store, "--items", "T-1,T-999")
        assert unknown.returncode == 2 and "T-999" in unknown.stderr
        without = gvs("locale", "add", str(bench), "zh-TW", "--limit", "2")
        assert without.returncode == 2 and "--limit goes with --translate-with" in without.stderr
        zero = _draft(gvs, bench, server, store, "--limit", "0")
        assert zero.returncode == 2
        gvs("locale", "add", str(bench), "zh-HK", "--from", "zh-CN", check=True)  # a plain copy...
        (bench / "en-GB.yaml").write_text("suite: gvs-bench\nlocale: en-GB\ninherits: en-US\nitems: {}\n")
        inheriting = gvs(
            "locale", "add", str(bench), "en-GB", "--translate-with", MODEL, "--api-base", server.base_url,
            "--store", str(store),
        )  # fmt: skip
        assert inheriting.returncode == 2 and "inherits en-US" in inheriting.stderr
        source = gvs(
            "locale", "add", str(bench), "zh-CN", "--from", "en-US", "--translate-with", MODEL,
            "--api-base", server.base_url, "--store", str(store),
        )  # fmt: skip
        assert source.returncode == 2 and "source locale" in source.stderr
        # ...whose copied drafts are human territory: nothing in it is overwritten.
        copied = (bench / "zh-HK.yaml").read_bytes()
        hk = gvs(
            "locale", "add", str(bench), "zh-HK", "--translate-with", MODEL, "--api-base", server.base_url,
            "--store", str(store),
        )  # fmt: skip
        assert hk.returncode == 0 and "nothing to draft" in hk.stdout and "90 items skipped" in hk.stdout
        assert (bench / "zh-HK.yaml").read_bytes() == copied


def test_machine_entries_keep_passing_fields_and_reject_the_rest():
    from benchmark.localization.suites import Item, LocalizedItem

    item = Item("T-1", {})
    src = LocalizedItem(item, "en-US", "How do I bake bread at home?", "Explain the steps clearly.")
    good = translate.Translation("T-1", "prompt", src.prompt, "¿Cómo horneo pan en casa?")
    bad = translate.Translation(
        "T-1", "focus", src.focus, ENGLISH_REFUSAL, problems=(("refusal", "reads as a refusal"),)
    )
    made = translate.machine_entries([src], [good, bad], MODEL, "en-US")
    entry = made.entries["T-1"]
    assert entry["status"] == "needs-work" and made.needs_work == {"T-1": ["refusal"]} and not made.machine
    assert entry["prompt"] == "¿Cómo horneo pan en casa?" and entry["focus"] == src.focus
    assert entry["review_comment"].startswith("machine draft rejected") and "focus: refusal" in entry["review_comment"]
    failed = translate.Translation("T-1", "focus", src.focus, None, "server error")
    made = translate.machine_entries([src], [good, failed], MODEL, "en-US")
    assert made.entries == {} and made.failed == ["T-1"]
    passed = dataclasses.replace(bad, text="Explica los pasos con claridad.", problems=())
    fine = translate.machine_entries([src], [good, passed], MODEL, "en-US")
    assert fine.machine == ["T-1"] and fine.entries["T-1"]["status"] == "machine"
    assert "review_comment" not in fine.entries["T-1"]


def test_items_absent_from_the_locale_are_never_drafted_and_human_text_stays(gvs, bench, tmp_path):
    path = bench / "zh-TW.yaml"
    path.write_text(
        "suite: gvs-bench\nlocale: zh-TW\nitems:\n  T-1:\n    prompt: 人工翻譯的文字\n    status: reviewed  # by hand\n"
        "absent:\n  T-2: 不適用於台灣\n",
        encoding="utf-8",
    )
    source = {t.id: t for t in load_suite(bench).variant("zh-CN")}
    store = tmp_path / "s.db"
    with LoopbackServer(Behaviour(answer_in_context=_translator(source))) as server:
        refused = _draft(gvs, bench, server, store, "--items", "T-2")
        assert refused.returncode == 2 and "T-2 is not in zh-TW: 不適用於台灣" in refused.stderr
        assert server.behaviour.count == 0
        made = _draft(gvs, bench, server, store, "--limit", "2")
        assert made.returncode == 0, made.stderr
        assert "1 item skipped: in the file already, left as they are (1 reviewed)" in made.stdout
    text = path.read_text(encoding="utf-8")
    assert text.startswith(
        "suite: gvs-bench\nlocale: zh-TW\nitems:\n  T-1:\n    prompt: 人工翻譯的文字\n    status: reviewed  # by hand\n  T-3:"
    )
    assert text.endswith("absent:\n  T-2: 不適用於台灣\n")
    assert _statuses(bench) == {"T-1": "reviewed", "T-3": "needs-work", "T-4": "machine"}
