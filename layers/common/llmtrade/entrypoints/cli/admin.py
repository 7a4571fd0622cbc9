"""`llmtrade secrets put`: the deployment's keys from a .env into AWS Secrets Manager."""

from __future__ import annotations

import argparse

from llmtrade.entrypoints.cli.common import UsageError


def secrets_put(args: argparse.Namespace) -> int:
    """The keys in a .env into the two Secrets Manager secrets (LLM keys for the research and
    council functions, Alpaca keys for execute and checkpoint). Prints key names, never values."""
    from dotenv import dotenv_values

    from llmtrade.adapters.store.secrets import MissingKeys, put_secrets, secret_values
    from llmtrade.config import load_settings

    if not args.env_file.is_file():
        raise UsageError(f"{args.env_file} is not a file: pass --env-file with the keys "
                         "(see .env.example)")
    try:
        secrets = secret_values(load_settings(args.config_dir), dotenv_values(args.env_file))
    except MissingKeys as exc:
        raise UsageError(f"{args.env_file} lacks keys the config needs: {', '.join(exc.names)}; "
                         "nothing was sent") from None
    done = {name: "dry run: not sent" for name in secrets}
    if not args.dry_run:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            done = put_secrets(boto3.client("secretsmanager", region_name=args.region), secrets)
        # AWS's message names the call and the error, never a value
        except (BotoCoreError, ClientError) as exc:
            raise UsageError(f"could not write the secrets: {exc}") from None
    for name, keys in secrets.items():
        print(f"{name} ({done[name]}): {', '.join(keys)}")
    return 0
