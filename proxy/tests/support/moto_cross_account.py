"""Start moto_server with AWS's cross-account AssumeRole semantics.

moto 5.2.5 in auth mode (INITIAL_NO_AUTH_ACTION_COUNT) evaluates a role's
trust policy, but only as far as one account goes (see moto/iam/access_control.py):

1. it looks the target role up in the *caller's* account, so a role in another
   account is "not found", its trust policy is never read, and AssumeRole is
   allowed on the caller's identity policy alone (any external id passes);
2. it compares Principal.AWS with the caller's exact ARN, so the
   `arn:aws:iam::<account>:root` principal AWS documents (the account, i.e.
   any of its principals its own policies allow) never matches;
3. a StringEquals condition on a key the request lacks passes (an AssumeRole
   without ExternalId is allowed by a policy that requires one).

Each patch below replaces one of these with what AWS does, and nothing else;
signature checks, identity policies and the rest of moto stay as shipped.
Usage: python moto_cross_account.py -H 127.0.0.1 -p PORT
"""

import json
import sys

from moto.iam import access_control
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.iam.policy_conditions import CONDITION_OPERATIONS, TrustCondition
from moto.iam.utils import REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK
from moto.utilities.utils import get_partition


def _role_in_its_own_account(self, role_arn):
    account = role_arn.split(":")[4]
    return iam_backends[account][get_partition(self._region)].get_role_by_arn(role_arn)


def _is_assuming_role_operation(self, resource_arn):
    # AssumeRole always needs the trust policy, whichever account owns the role.
    return self._action in REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK and ":role/" in resource_arn


def _check_role_trust_relationship(self, role_arn):
    try:
        role = _role_in_its_own_account(self, role_arn)
    except NotFoundException:
        return False  # AWS: AccessDenied for a role that does not exist
    policy = access_control.IAMPolicy(role.assume_role_policy_document)
    result = policy.is_action_permitted(
        self._action,
        role_arn,
        self._access_key.arn,
        access_control.format_incoming_conditional_values(self._data),
    )
    return result == access_control.PermissionResult.PERMITTED


_original_check_principal = access_control.IAMPolicyStatement._check_principal


def _check_principal(self, principal):
    if _original_check_principal(self, principal):
        return True
    expected = (self._statement.get("Principal") or {}).get("AWS") or []
    expected = [expected] if isinstance(expected, str) else list(expected)
    parts = principal.split(":")
    if len(parts) < 5:
        return False
    partition, account = parts[1], parts[4]
    return any(e in (account, f"arn:{partition}:iam::{account}:root") for e in expected)


_original_verify_condition = TrustCondition.verify_condition


def _verify_condition(self, actual_values):
    if not actual_values and self._condition in CONDITION_OPERATIONS:
        return False  # StringEquals on an absent key is false in AWS
    return _original_verify_condition(self, actual_values)


access_control.IAMRequestBase._is_assuming_role_operation = _is_assuming_role_operation
access_control.IAMRequestBase._check_role_trust_relationship = _check_role_trust_relationship
access_control.IAMPolicyStatement._check_principal = _check_principal
TrustCondition.verify_condition = _verify_condition

# Not a semantic patch: /moto-api/data.json dumps every model of every
# service, and once EC2 has answered, its default AMIs, VPCs and subnets make
# that megabytes and seconds of work. The AWS fake mirroring this server
# (alphaswarm-fakes) needs IAM and STS only and asks for
# /moto-api/data.json?services=iam,sts; without the parameter the dump is
# moto's own.
from urllib.parse import parse_qs, urlparse

from moto.moto_api._internal.responses import MotoAPIResponse

_original_model_data = MotoAPIResponse.model_data


def _model_data(self, request, full_url, headers):
    wanted = parse_qs(urlparse(full_url).query).get("services")
    if not wanted:
        return _original_model_data(self, request, full_url, headers)
    from moto.core.model_instances import model_data

    services = set(",".join(wanted).split(","))
    results = {}
    for service in sorted(s for s in model_data if s in services):
        results[service] = {}
        for name, model in sorted(model_data[service].items()):
            results[service][name] = []
            for instance in model.instances_tracked:
                fields = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except (TypeError, AttributeError, ValueError):
                        continue
                    fields[attr] = value
                results[service][name].append(fields)
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


MotoAPIResponse.model_data = _model_data

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
