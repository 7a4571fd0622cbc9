from __future__ import annotations

from typing import Any

from llmtrade.adapters.llm.offline import OfflineLLM
from llmtrade.domain.universe import answer_schema, in_universe
from llmtrade.ports import ChatMessage, LLMRequest
from llmtrade.schemas import ChairmanAnswer, PitchAnswer, PitchReview
from pydantic import BaseModel, create_model

UNIVERSE = ["SPY", "TLT", "GLD"]


def ask(model: str, schema_model: type[BaseModel], prompt: str = "pitch me") -> str:
    request = LLMRequest(model=model, messages=[ChatMessage(role="user", content=prompt)],
                         schema_name=schema_model.__name__,
                         json_schema=answer_schema(schema_model, UNIVERSE))
    response = OfflineLLM().complete(request)
    assert response.offline and response.model == f"offline:{model}" and response.cost_usd == 0
    return response.content


def test_answers_validate_against_the_schema_they_were_asked_for() -> None:
    for model in ("a/one", "b/two", "c/three", "d/four"):
        for schema_model in (PitchAnswer, ChairmanAnswer):
            answer = schema_model.model_validate_json(ask(model, schema_model))
            in_universe(UNIVERSE)(answer)
            assert answer.conviction != 0
            # indicators on the traded instrument, the chairman's on the trade it selects
            traded = (answer.instrument if isinstance(answer, PitchAnswer)
                      else answer.selected_trade.instrument)
            assert 1 <= len(answer.indicators) <= 5
            assert {i.instrument for i in answer.indicators} == {traded}


def test_answers_are_deterministic_and_vary_with_inputs() -> None:
    assert ask("a/one", PitchAnswer) == ask("a/one", PitchAnswer)
    answers = {ask(f"m/{i}", PitchAnswer, prompt=f"week {i}") for i in range(6)}
    assert len(answers) == 6
    assert len({PitchAnswer.model_validate_json(a).instrument for a in answers}) > 1


def test_text_is_labelled_offline() -> None:
    answer = PitchAnswer.model_validate_json(ask("a/one", PitchAnswer))
    assert all(bullet.startswith("[offline]") for bullet in answer.thesis_bullets)


def test_dynamic_review_schema_gets_every_label() -> None:
    fields: dict[str, Any] = {label: (PitchReview, ...) for label in "ABC"}
    model = create_model("PeerReviewAnswer", **fields)
    answer = model.model_validate_json(ask("a/one", model))
    assert all(1 <= getattr(answer, label).scores.clarity <= 10 for label in "ABC")


def test_indicators_watch_the_traded_instrument_sensibly() -> None:
    for i in range(5):
        answer = PitchAnswer.model_validate_json(ask(f"m/{i}", PitchAnswer))
        for indicator in answer.indicators:
            assert indicator.instrument == answer.instrument
            adverse = indicator.role != "confirms"  # invalidates or flips: a move against the trade
            long = answer.conviction > 0
            assert (indicator.comparison == ">") == (long != adverse)
