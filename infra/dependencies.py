"""DependsOn without what a GetAtt already orders (cfn-lint W3005).

A Lambda function and a state machine depend, as constructs, on their execution role: CDK renders
that as a DependsOn on the role and on the role's policies. The role itself is redundant there (the
resource reads `Fn::GetAtt Role.Arn`, which CloudFormation orders already); the policies are not (a
function must not run before its permissions exist), so they stay.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct


@jsii.implements(IAspect)
class RoleOrderedByGetAtt:
    """Renders the DependsOn of every function and state machine without its execution role."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, lambda_.Function | sfn.StateMachine):
            return
        resource, role = node.node.default_child, node.role
        if not isinstance(resource, CfnResource) or not isinstance(role, iam.Role):
            return
        depends_on = {r.node.path: r for r in resource.obtain_dependencies()
                      if isinstance(r, CfnResource)}
        for target in resource.node.dependencies:
            depends_on |= {c.node.path: c for c in target.node.find_all()
                           if isinstance(c, CfnResource)}
        depends_on.pop(role.node.default_child.node.path if role.node.default_child else "", None)
        resource.add_override("DependsOn", [depends_on[path].logical_id
                                            for path in sorted(depends_on)])
