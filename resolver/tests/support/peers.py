#!/usr/bin/env python3
"""The resolver tests' real peers, started once: moto (Secrets Manager, STS
and IAM, in auth mode) and an OpenBao dev server (Vault API, KV v2 at secret/).

Prints one JSON line:
  {"moto_url", "moto_keys": {"admin"|"reader"|"denied": [id, secret]}, "irsa_role_arn",
   "irsa_issuer", "irsa_subject", "bao_addr", "bao_token"}
then serves until its standard input closes (the test process or
scripts/test-resolver.sh exited, however it exited) and stops both.

moto's auth mode: set-up runs inside a no-auth allowance (/moto-api/reset-auth)
that creates the test identities; every later request must be signed by a
known key and is evaluated against IAM policies. moto evaluates identity
policies against Resource "*" only, so the identities differ by action:
  admin   — everything (seeds secrets);
  reader  — secretsmanager:GetSecretValue;
  denied  — secretsmanager:ListSecrets only (GetSecretValue is AccessDenied);
  role resolver-irsa — GetSecretValue, assumable with a web identity (IRSA).

AssumeRoleWithWebIdentity is unsigned in AWS, but moto's auth mode demands a
signature of every call; `allow_web_identity` lets it through unsigned and
checks what AWS checks except the token's signature: the role's trust policy
must allow sts:AssumeRoleWithWebIdentity for the Federated OIDC provider that
matches the token's issuer (which must exist in IAM), and its StringEquals
conditions on `<issuer>:sub` and `<issuer>:aud` must hold for the token.
"""
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# Read by moto at import: every request is authenticated unless reset-auth says otherwise.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID"):
    os.environ.pop(name, None)

import boto3  # noqa: E402  (moto's own dependency)
from moto.server import ThreadedMotoServer  # noqa: E402

DEADLINE_SECONDS = 60
ACCOUNT = "123456789012"
OIDC_ISSUER_HOST = "oidc.eks.us-east-1.amazonaws.com/id/RESOLVERTEST"
IRSA_SUBJECT = "system:serviceaccount:alphaswarm:resolver"


def allow_web_identity():
    import base64
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.models import iam_backends
    from moto.core.exceptions import _RESTError as RESTError

    class STSClientError(RESTError):
        """Rendered as STS's XML error (raised before moto's own handler)."""

        def __init__(self, code, message):
            self.code = 403 if code == "AccessDenied" else 400
            super().__init__(code, message)

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def claims_of(token):
        try:
            payload = token.split(".")[1]
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            raise STSClientError("InvalidIdentityToken", "Couldn't parse the web identity token")

    def check(response):
        token = response._get_param("WebIdentityToken") or ""
        role_arn = response._get_param("RoleArn") or ""
        claims = claims_of(token)
        issuer = str(claims.get("iss", "")).removeprefix("https://")
        iam = iam_backends[ACCOUNT]["aws"]
        provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"
        if provider_arn not in iam.open_id_providers:
            raise STSClientError("InvalidIdentityToken", "No OpenIDConnect provider found in your account for " + str(claims.get("iss")))
        role = iam.get_role_by_arn(role_arn)
        for statement in json.loads(role.assume_role_policy_document)["Statement"]:
            if statement.get("Effect") != "Allow" or statement.get("Action") != "sts:AssumeRoleWithWebIdentity":
                continue
            if statement.get("Principal", {}).get("Federated") != provider_arn:
                continue
            equals = statement.get("Condition", {}).get("StringEquals", {})
            wanted = {key.split(":")[-1]: value for key, value in equals.items() if key.startswith(issuer + ":")}
            if all(str(claims.get(claim)) == value for claim, value in wanted.items()):
                return
        raise STSClientError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")

    def patched(self, iam_request_cls, resource="*"):
        if "Authorization" not in self.headers and self._get_action() == "AssumeRoleWithWebIdentity":
            return check(self)
        return original(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = patched


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{what} not ready after {DEADLINE_SECONDS} s")


def post(url, body=b""):
    # text/plain: moto reads the raw body (a form content type would empty it).
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return r.status


def start_moto():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server.start()
    url = f"http://127.0.0.1:{port}"
    wait_until("moto", lambda: urllib.request.urlopen(f"{url}/moto-api/", timeout=2).status == 200)
    post(f"{url}/moto-api/reset-auth", b"1000")
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="AKIASETUPONLY0000000", aws_secret_access_key="setup")
    def allow(action):
        return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})

    keys = {}
    for name, action in (("admin", "*"), ("reader", "secretsmanager:GetSecretValue"), ("denied", "secretsmanager:ListSecrets")):
        user = f"resolver-test-{name}"
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=allow(action))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[name] = (key["AccessKeyId"], key["SecretAccessKey"])
    iam.create_open_id_connect_provider(Url=f"https://{OIDC_ISSUER_HOST}", ClientIDList=["sts.amazonaws.com"],
                                        ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_ISSUER_HOST}"},
        "Condition": {"StringEquals": {f"{OIDC_ISSUER_HOST}:sub": IRSA_SUBJECT,
                                       f"{OIDC_ISSUER_HOST}:aud": "sts.amazonaws.com"}}}]}
    role = iam.create_role(RoleName="resolver-irsa", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="resolver-irsa", PolicyName="read", PolicyDocument=allow("secretsmanager:GetSecretValue"))
    post(f"{url}/moto-api/reset-auth", b"0")
    return server, url, keys, role["Arn"]


def start_bao(home):
    port = free_port()
    token = "root-" + secrets.token_hex(16)
    addr = f"http://127.0.0.1:{port}"
    binary = os.path.join(os.path.dirname(sys.executable), "bao")
    child = subprocess.Popen(
        [binary, "server", "-dev", f"-dev-root-token-id={token}",
         f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", ""), "HOME": home},
    )
    def healthy():
        if child.poll() is not None:
            raise SystemExit(f"bao server exited early ({child.returncode})")
        return urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=2).status == 200
    wait_until("OpenBao", healthy)
    return child, addr, token


def main():
    with tempfile.TemporaryDirectory(prefix="resolver-peers-") as home:
        allow_web_identity()
        moto, moto_url, keys, role_arn = start_moto()
        bao, bao_addr, bao_token = start_bao(home)
        try:
            print(json.dumps({
                "moto_url": moto_url, "moto_keys": keys, "irsa_role_arn": role_arn,
                "irsa_issuer": f"https://{OIDC_ISSUER_HOST}", "irsa_subject": IRSA_SUBJECT,
                "bao_addr": bao_addr, "bao_token": bao_token,
            }), flush=True)
            sys.stdin.read()  # until the parent closes the pipe
        finally:
            bao.terminate()
            try:
                bao.wait(timeout=10)
            except subprocess.TimeoutExpired:
                bao.kill()
            moto.stop()


if __name__ == "__main__":
    main()
