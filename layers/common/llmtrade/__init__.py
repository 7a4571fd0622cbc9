"""llmtrade: the weekly LLM investment council, shared by every Lambda function and the CLI."""

__version__ = "0.1.0"
