"""The LLM port: OpenRouter (live) and a deterministic offline model."""
