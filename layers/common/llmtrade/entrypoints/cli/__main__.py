"""`python -m llmtrade.entrypoints.cli`, as the benchmark runs the command."""

import sys

from llmtrade.entrypoints.cli import main

sys.exit(main())
