"""What a model or a research provider must answer for the week (SPEC §3), validated before it is
stored (the general council's answers, §6, are `llmtrade.schemas.qa`), one module per family:

- `research`: a research provider's answer, the week's frozen research (§3.2);
- `council`: a PM's pitch and peer review, the chairman's decision (§3.3-§3.5).

Each answer is the schema the model is given; a step adds identity and time to turn it into an event
payload (`llmtrade.schemas.payloads`). Rules that span fields (a direction that agrees with its
conviction) are validators here, so a model's answer that breaks them is repaired or recorded
as a failure, never stored as a decision. This package imports none of its modules: import an
answer from `llmtrade.schemas`.
"""
