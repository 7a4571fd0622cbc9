"""The entry points: the CLI, the Lambda handlers' shared body, the local runner and the dispatch
both use."""
