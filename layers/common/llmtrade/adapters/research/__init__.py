"""Research providers: each one file, each kind one row in llmtrade.providers.

Wired by research.registry.
"""
