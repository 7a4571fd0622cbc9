"""Research providers: each one file, each kind one row in llmtrade.providers (wired by research.registry)."""
