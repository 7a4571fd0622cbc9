"""The findings of an independent IaC scan (checkov) that the stack accepts on purpose, each with
its reason, written into the template where checkov reads them (a resource's
`Metadata.checkov.skip`). Everything else it checks must pass (.ci/run fails on a new finding).

Most are cost trade-offs: a customer-managed KMS key is $1 a month each, a VPC for functions that
call public APIs needs a NAT gateway (~$32 a month). README "What it costs" lists them.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect
from constructs import IConstruct

_AWS_KEY = ("encrypted at rest with an AWS key; a customer-managed key would cost $1 a month and "
            "guard nothing IAM does not already")
SKIPPED: dict[str, dict[str, str]] = {
    "AWS::Lambda::Function": {
        "CKV_AWS_117": "No VPC: the functions call public APIs (OpenRouter, Alpaca, ...) and AWS "
                       "APIs only; a VPC would need a NAT gateway (~$32/month) and interface "
                       "endpoints, and reach nothing private.",
        "CKV_AWS_116": "Invoked synchronously by Step Functions only: a failure fails the state "
                       "(alerted, redriven); no asynchronous event to park in a dead-letter queue.",
        "CKV_AWS_173": "The environment holds names and ARNs, no secret (keys are read from "
                       "Secrets Manager); Lambda encrypts it at rest with an AWS key.",
    },
    "AWS::Logs::LogGroup": {
        "CKV_AWS_158": f"Logs hold no secrets (keys are never logged), {_AWS_KEY}.",
    },
    "AWS::DynamoDB::Table": {
        "CKV_AWS_119": f"Events and idempotency records, {_AWS_KEY} (least-privilege roles).",
    },
    "AWS::SecretsManager::Secret": {
        "CKV_AWS_149": f"Each secret is {_AWS_KEY}: one IAM grant per secret is the access "
                       "control.",
    },
    "AWS::S3::Bucket": {
        "CKV_AWS_18": "Private buckets written by one function's role only; CloudTrail records "
                      "their API calls. An access-log bucket would cost more than the few KB a "
                      "week it watches.",
    },
}


@jsii.implements(IAspect)
class CheckovSkips:
    """Writes SKIPPED into the Metadata of every resource of those types."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, CfnResource) and (skipped := SKIPPED.get(node.cfn_resource_type)):
            node.add_metadata("checkov", {"skip": [{"id": check, "comment": reason}
                                                   for check, reason in skipped.items()]})
