"""What the event store keeps (SPEC §3-§7): each payload is one fact about a week, an account or a
run, in one module per family, so a step loads only the families it records or reads:

- `research`: the week's research packs, or a provider's failure to produce one (§3.2);
- `council`: pitches, peer reviews, the chairman's decision, model failures (§3.3-§3.5);
- `orders`: orders placed, how they ended, position snapshots (§3.6);
- `checkpoints`: checkpoint decisions and skipped checkpoints (§4);
- `postmortem`: settled weeks of real and virtual accounts (§5);
- `runs`: run claims and runs the kill switch stopped;
- `calls`: every model and research provider call, for audit (§7).

A payload is what a step decided or saw, with who and when; the envelope
(`llmtrade.schemas.envelope`) maps each payload type to its event kind. Payloads never change once
stored: a step that reruns finds its payload and returns it (`llmtrade.events.EventLog.recorded`).
This package imports none of its modules: import a payload from `llmtrade.schemas`.
"""
