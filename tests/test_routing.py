"""`gvs run --router FILE`: a LiteLLM Router configuration spreads one model name over several
OpenAI-compatible servers and falls back to another name when one fails — LiteLLM's router, real
HTTP to loopback servers started here."""

from __future__ import annotations

import json

from .conftest import sql_rows
from .loopback import Behaviour, LoopbackServer

KEY = "sk-fleet-secret-123456"


def _write(path, text: str):
    path.write_text(text)
    return path


def _fleet(tmp_path, a: str, b: str, extra: str = ""):
    return _write(
        tmp_path / "router.yaml",
        f"""model_list:
  - model_name: fleet
    litellm_params:
      model: openai/served
      api_base: {a}
      api_key: os.environ/FLEET_KEY
      rpm: 1000
  - model_name: fleet
    litellm_params:
      model: openai/served
      api_base: {b}
      api_key: os.environ/FLEET_KEY
      rpm: 1000
{extra}""",
    )


def test_one_name_served_by_two_deployments_no_key_stored(gvs, tmp_path):
    store = tmp_path / "s.db"
    with LoopbackServer() as a, LoopbackServer() as b:
        config = _fleet(tmp_path, a.base_url, b.base_url)
        env = {"FLEET_KEY": KEY}
        # --workers 2: a Router's model is still called from gvs's own process, where its rpm limits are counted.
        run = gvs(
            "run",
            "gvs-bench",
            "-m",
            "fleet",
            "--router",
            str(config),
            "-l",
            "en-US",
            "--limit",
            "30",
            "--store",
            str(store),
            "-c",
            "8",
            "--workers",
            "2",
            env=env,
            check=True,
        )
        assert "30 called" in run.stdout and "worker processes" not in run.stdout
        served = (a.behaviour.count, b.behaviour.count)
        assert sum(served) == 30 and min(served) > 0  # both deployments answered
        assert {h.get("authorization") for h in a.behaviour.headers + b.behaviour.headers} == {f"Bearer {KEY}"}
        # The same command again comes wholly from the cache.
        again = gvs(
            "run",
            "gvs-bench",
            "-m",
            "fleet",
            "--router",
            str(config),
            "-l",
            "en-US",
            "--limit",
            "30",
            "--store",
            str(store),
            "--quiet",
            env=env,
            check=True,
        )
        assert "30 from cache" in again.stdout and a.behaviour.count + b.behaviour.count == 30
    spec = json.loads(sql_rows(store, "select spec from runs order by id limit 1")[0][0])
    assert spec["models"] == ["fleet"] and spec["endpoints"]["fleet"].startswith("router:")
    assert KEY.encode() not in store.read_bytes()
    assert sql_rows(store, "select count(*) from responses")[0][0] == 30


def test_a_changed_fleet_is_a_new_cache_key(tmp_path, monkeypatch):
    from benchmark.clients.routing import load

    monkeypatch.setenv("FLEET_KEY", KEY)
    first = load(_fleet(tmp_path, "http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1")).endpoint
    same = load(_fleet(tmp_path, "http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1")).endpoint
    monkeypatch.setenv("FLEET_KEY", "another-key-entirely")  # a rotated key is the same fleet
    rotated = load(_fleet(tmp_path, "http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1")).endpoint
    moved = load(_fleet(tmp_path, "http://127.0.0.1:1/v1", "http://127.0.0.1:3/v1")).endpoint
    assert first == same == rotated != moved


def test_fallback_to_another_name_when_a_deployment_fails(gvs, tmp_path):
    store = tmp_path / "s.db"
    with LoopbackServer(Behaviour(fail_status=500)) as broken, LoopbackServer() as backup:
        config = _write(
            tmp_path / "router.yaml",
            f"""model_list:
  - model_name: primary
    litellm_params: {{model: openai/p, api_base: "{broken.base_url}", api_key: none}}
  - model_name: backup
    litellm_params: {{model: openai/b, api_base: "{backup.base_url}", api_key: none}}
router_settings:
  fallbacks: [{{primary: [backup]}}]
""",
        )
        run = gvs(
            "run",
            "gvs-bench",
            "-m",
            "primary",
            "--router",
            str(config),
            "-l",
            "en-US",
            "--limit",
            "5",
            "--store",
            str(store),
            "--quiet",
            "--retries",
            "0",
            check=True,
        )
        assert "5 called" in run.stdout and "0 failed" in run.stdout
        assert broken.behaviour.count >= 5 and backup.behaviour.count == 5
    assert sql_rows(store, "select count(*) from responses")[0][0] == 5


def test_bad_router_files_name_file_and_line(gvs, tmp_path):
    cases = {
        "not a list": ("model_list: fleet\n", 1, "model_list must be a non-empty list"),
        "no model": (
            "model_list:\n  - model_name: fleet\n    litellm_params:\n      api_base: http://x\n",
            3,
            "litellm_params.model",
        ),
        "unset env": (
            "model_list:\n  - model_name: f\n    litellm_params:\n      model: openai/x\n      api_key: os.environ/GVS_TEST_UNSET_KEY\n",
            5,
            "GVS_TEST_UNSET_KEY",
        ),
        "bad rpm": (
            "model_list:\n  - model_name: f\n    litellm_params: {model: openai/x, rpm: -3}\n",
            3,
            "rpm must be a positive",
        ),
        "unknown fallback": (
            "model_list:\n  - model_name: f\n    litellm_params: {model: openai/x}\nrouter_settings:\n  fallbacks: [{f: [nowhere]}]\n",
            5,
            "'nowhere' is not a model_name",
        ),
        "unknown setting": (
            "model_list:\n  - model_name: f\n    litellm_params: {model: openai/x}\nrouter_settings:\n  warp_speed: 9\n",
            5,
            "no setting 'warp_speed'",
        ),
        "bad yaml": ("model_list:\n  - model_name: [f\n", 3, "invalid YAML"),
    }
    for name, (text, line, message) in cases.items():
        config = _write(tmp_path / f"{name.replace(' ', '_')}.yaml", text)
        store = tmp_path / f"{name.replace(' ', '_')}.db"
        result = gvs("run", "gvs-bench", "-m", "f", "--router", str(config), "-l", "en-US", "--store", str(store))
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert f"{config}:{line}" in result.stderr and message in result.stderr, (name, result.stderr)
        assert not store.exists(), name  # nothing written
