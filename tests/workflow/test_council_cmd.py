"""`llmtrade council "question"` (SPEC §6) and `llmtrade run-week --estimate`, through the real
entry point."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from llmtrade.adapters.store.sqlite import SqliteEventStore
from llmtrade.config import load_settings
from llmtrade.entrypoints.cli import main
from llmtrade.events import EventLog
from llmtrade.schemas import LLMCallRecord

from tests.conftest import REPO, WEEK

QUESTION = "Is gold still a hedge when real yields rise?"
MODELS = [pm.openrouter_model for pm in load_settings(REPO / "config").models.pms]
CHAIRMAN, BACKUP = "anthropic/claude-sonnet-4.5", "openai/gpt-5.1"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def recorded_calls(data: Path, run_id: str) -> list[LLMCallRecord]:
    """The question's calls, from the council's own store: the week's store never holds them."""
    assert not (data / "events.sqlite").exists()
    store = SqliteEventStore(data / "council.sqlite")
    try:
        return EventLog(store).all(LLMCallRecord, run_id)
    finally:
        store.close()


def test_council_offline_prints_each_stage_with_rankings_mapped_back_to_models(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "council", QUESTION, "--offline", "--data-dir", str(tmp_path))
    assert code == 0 and err == ""
    stages = [out.index(s) for s in ("Question: ", "== Stage 1: answers",
                                     "== Stage 2: anonymous rankings",
                                     "Aggregate ranking (mean position, 1 is best):",
                                     "== Stage 3: chairman", "Consensus: ",
                                     "recorded under council-")]
    assert stages == sorted(stages)
    answers = out[stages[1]:stages[2]]
    assert all(f"-- {model} (answered by offline:{model})" in answers for model in MODELS)
    assert all(f"-- {model} ranked:\n  1. " in out for model in MODELS)
    assert "(Response A)" in out and f"-- {CHAIRMAN} (answered by offline:{CHAIRMAN})" in out


def test_council_json_rankings_are_anonymous_reproducible_and_aggregated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "council", QUESTION, "--offline", "--json",
                       "--data-dir", str(tmp_path))
    assert code == 0
    result = json.loads(out)
    assert ([a["model"] for a in result["answers"]] == MODELS
            and all(a["answer"] for a in result["answers"]))
    for ranking in result["rankings"]:
        others = sorted(m for m in MODELS if m != ranking["reviewer"])
        # never its own
        assert sorted(ranking["labels"].values()) == others == sorted(ranking["ranking"])
    # shuffled per reviewer
    assert len({tuple(r["labels"].values()) for r in result["rankings"]}) > 1
    for rank in result["aggregate"]:
        positions = [r["ranking"].index(rank["model"]) + 1 for r in result["rankings"]
                     if r["reviewer"] != rank["model"]]
        assert (rank["mean_position"] == round(sum(positions) / len(positions), 3)
                and rank["rankings"] == 3)
    means = [r["mean_position"] for r in result["aggregate"]]
    assert means == sorted(means)
    assert result["synthesis"]["model"] == CHAIRMAN and result["synthesis"]["answer"]["answer"]

    calls = recorded_calls(tmp_path, result["run_id"])
    assert sorted(c.purpose for c in calls) == ["qa-answer"] * 4 + ["qa-chairman"] + ["qa-rank"] * 4
    assert ({c.template for c in calls} == {"qa_answer", "qa_rank", "qa_chairman"}
            and all(c.valid for c in calls))
    for call in (c for c in calls if c.purpose in ("qa-rank", "qa-chairman")):
        prompt = json.dumps(call.messages)
        assert QUESTION in prompt and not any(model in prompt for model in MODELS)

    code, again, _ = run(capsys, "council", QUESTION, "--offline", "--json",
                         "--data-dir", str(tmp_path))
    assert json.loads(again)["rankings"] == result["rankings"]  # same question, same labels
    # an identical rerun stores nothing new
    assert len(recorded_calls(tmp_path, result["run_id"])) == len(calls)


def test_members_on_the_same_model_answer_rank_and_are_ranked_apart(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    models = config / "models.yaml"
    models.write_text(models.read_text().replace("openrouter_model: x-ai/grok-4",
                                                 f"openrouter_model: {MODELS[0]}"))
    code, out, _ = run(capsys, "council", QUESTION, "--offline", "--json",
                       "--config-dir", str(config), "--data-dir", str(tmp_path / "data"))
    assert code == 0
    result = json.loads(out)
    members = [a["account_id"] for a in result["answers"]]
    assert [a["model"] for a in result["answers"]] == [*MODELS[:3], MODELS[0]]
    assert all(a["answer"] for a in result["answers"])
    for ranking in result["rankings"]:  # each member ranks the three others, its twin included
        assert (sorted(ranking["ranked_accounts"])
                == sorted(m for m in members if m != ranking["reviewer_account"]))
        assert (ranking["ranking"].count(MODELS[0])
                == (1 if ranking["reviewer"] == MODELS[0] else 2))
    assert sorted(r["account_id"] for r in result["aggregate"]) == sorted(members)
    assert all(r["rankings"] == 3 for r in result["aggregate"])
    chairman = next(c for c in recorded_calls(tmp_path / "data", result["run_id"])
                    if c.purpose == "qa-chairman")
    prompt = chairman.messages[-1]["content"]
    # every member's answer, once
    assert "--- Response D (" in prompt and "--- Response E" not in prompt


def test_council_without_a_key_says_which_one_and_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    code, out, err = run(capsys, "council", QUESTION, "--data-dir", str(tmp_path / "data"))
    assert code == 2 and out == "" and "OPENROUTER_API_KEY" in err and "--offline" in err
    assert not (tmp_path / "data").exists()


def test_an_empty_question_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "council", "  ", "--offline", "--data-dir", str(tmp_path))
    assert code == 2 and "the question is empty" in err


def _openrouter_answer(request: httpx.Request) -> httpx.Response:
    """OpenRouter's chat completion (ChatResult in specs/openrouter-openapi.yaml), with an answer
    that fits the requested schema; the configured chairman is refused (a 400 is not retried) so
    its backup has to answer."""
    body = json.loads(request.content)
    name, schema = (body["response_format"]["json_schema"]["name"],
                    body["response_format"]["json_schema"]["schema"])
    if name == "QASynthesis" and body["model"] == CHAIRMAN:
        return httpx.Response(400, json={"error": {"code": 400,
                                                   "message": "Provider returned error"}})
    answer: dict[str, Any] = {"answer": f"{body['model']} thinks gold hedges tail risk",
                              "key_points": ["rates"]}
    if name == "QARanking":
        answer = {"ranking": list(reversed(schema["properties"]["ranking"]["items"]["enum"])),
                  "reasoning": "the last one is most precise"}
    elif name == "QASynthesis":
        answer = {"answer": "Partly: gold hedges tails, not rising real yields.",
                  "consensus": "tails", "dissent": "one answer trusts central bank buying"}
    return httpx.Response(200, json={
        "id": "chatcmpl-123", "object": "chat.completion", "created": 1677652288,
        "model": body["model"],
        "choices": [{"finish_reason": "stop", "index": 0,
                     "message": {"role": "assistant", "content": json.dumps(answer)}}],
        "usage": {"completion_tokens": 15, "prompt_tokens": 10, "total_tokens": 25,
                  "cost": 0.0012}})


@respx.mock
def test_council_live_asks_openrouter_and_the_backup_chairman_answers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-test-secret")
    route = respx.post("https://openrouter.ai/api/v1/chat/completions").mock(
        side_effect=_openrouter_answer)
    code, out, err = run(capsys, "council", QUESTION, "--data-dir", str(tmp_path / "data"))
    assert code == 0, err
    assert route.call_count == 4 + 4 + 2
    assert all(c.request.headers["Authorization"] == "Bearer sk-or-v1-test-secret"
               for c in route.calls)
    assert "OFFLINE" not in out and f"-- {BACKUP} (answered by {BACKUP})" in out
    assert f"FAILED: chairman {CHAIRMAN}: " in out and "Provider returned error" in out
    assert "sk-or-v1-test-secret" not in out + err
    run_id = out.rsplit("recorded under ", 1)[1].split()[0]
    calls = recorded_calls(tmp_path / "data", run_id)
    failed = next(c for c in calls if c.purpose == "qa-chairman")
    assert (failed.valid, failed.http_status, failed.http_attempts) == (False, 400, 1)
    assert sum(c.cost_usd for c in calls) == Decimal("0.0108") and "$0.0108 spent" in out


def test_estimate_prints_the_calls_and_cost_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    code, out, _ = run(capsys, "run-week", "--estimate", "--week", WEEK, "--data-dir", str(data))
    assert code == 0 and "published prices as of 2025-12-01 (config/prices.yaml)" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:7]}
    # config/prices.yaml: 9,000 prompt and 1,500 completion tokens a call, at each model's price
    assert (rows["pitches"] == ["4", "8", "0.16", "0.32"]
            and rows["reviews"] == ["4", "8", "0.16", "0.32"])
    assert rows["chairman"] == ["1", "2", "0.05", "0.10"]
    assert "research: gemini-deep-research            1      1        3.00" in out
    # 9 LLM calls and 2 research runs (the fallback runs only when both fail)
    assert "total                                     11     23       3.43" in out
    assert "backup chairman" in out and "Weekly LLM budget: $15.00" in out
    assert not data.exists()

    code, out, _ = run(capsys, "run-week", "--estimate", "--offline", "--json", "--week", WEEK,
                       "--data-dir", str(data))
    document = json.loads(out)
    assert code == 0 and (document["calls"], document["at_most"],
                          document["expected_usd"]) == (9, 20, "0")
    assert not data.exists()
