// The behaviour of the npm package, as cases shared by the Node test runner
// (node.test.ts) and the Chromium page (web/main.ts). Each case says which
// exports it covers; exports.test.ts fails when an export has no case.
import type * as Core from "alphaswarm-core";

export type Api = typeof Core;
/** Reference HMAC-SHA256 as lowercase hex: node:crypto in Node, WebCrypto in the browser. */
export type HmacHex = (secret: Uint8Array, message: string) => Promise<string>;

export interface Case {
  name: string;
  covers: (keyof Api)[];
  run: (api: Api, hmacHex: HmacHex) => void | Promise<void>;
}

export class CaseFailure extends Error {}

function fail(message: string): never {
  throw new CaseFailure(message);
}

export function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

export function ok(condition: boolean, what: string): void {
  if (!condition) fail(what);
}

/** Runs `call`, which must throw the core's error object with this code and field. */
export function throwsCore(
  call: () => unknown,
  expected: { code: string; field: string | null },
  what: string,
): Core.CoreError {
  let thrown: unknown;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) fail(`${what}: expected a thrown ${expected.code}, got a result`);
  if (!(thrown instanceof Error)) fail(`${what}: thrown value is not an Error: ${String(thrown)}`);
  const error = thrown as Core.CoreError;
  equal(error.code, expected.code, `${what}: code`);
  equal(error.field, expected.field, `${what}: field`);
  ok(typeof error.hint === "string" && error.hint.length > 0, `${what}: hint is a non-empty string`);
  ok(error.message.length > 0 && !error.message.startsWith("Error:"), `${what}: message is plain prose`);
  ok(String(error).startsWith("Error: ") && !String(error).startsWith("Error: Error:"), `${what}: prints once`);
  return error;
}

const SECRET = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
const CLOUDS = ["aws", "azure", "gcp", "cloudflare"] as const;
const ISSUER = "https://alpha-swarm.ai/oidc/";

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function randomBytes(seed: number, length: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A valid org id built from random bytes: [a-z0-9] ends, [a-z0-9_-] inside, no "--". */
function randomOrgId(bytes: Uint8Array): string {
  const edge = "abcdefghijklmnopqrstuvwxyz0123456789";
  const inner = edge + "_-";
  const length = 1 + ((bytes[0] ?? 0) % 40);
  let id = "";
  for (let i = 0; i < length; i++) {
    const byte = bytes[i + 1] ?? 0;
    const alphabet = i === 0 || i === length - 1 ? edge : inner;
    let c = alphabet[byte % alphabet.length] ?? "a";
    if (c === "-" && id.endsWith("-")) c = "a";
    id += c;
  }
  return id;
}

const awsOptions = {
  orgId: "acme",
  partnerAccountId: "123456789012",
  externalId: "3f1c9a0e7b2d4c6f8a1b3c5d7e9f0a2b",
};

const azureOptions = {
  orgId: "acme",
  mode: "shared_app" as const,
  appObjectId: "11111111-2222-3333-4444-555555555555",
  appClientId: "66666666-7777-8888-9999-aaaaaaaaaaaa",
  issuer: ISSUER,
};

const gcpOptions = {
  orgId: "acme",
  projectId: "acme-prod",
  projectNumber: "123456789012",
  issuer: ISSUER,
  allowedAudience: "https://alpha-swarm.ai/oidc/gcp",
  serviceAccountEmail: "broker@acme-prod.iam.gserviceaccount.com",
};

const workloadOptions: Core.WorkloadIdentityRequest = {
  namespace: "internal-platform",
  serviceAccount: "spec-agent-worker",
  issuer: "https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/5f3e9c1a-8d2b-4e6f-9a0c-1b2d3e4f5a6b/",
  clusterName: "aucert-aks",
  credentialKeys: ["postgres:password", "foundry:api_key"],
  cloud: { kind: "aks", subscriptionId: "00000000-1111-2222-3333-444444444444", resourceGroup: "aucert-foundation-rg", keyVaultName: "aucertdev-kv-41e0x5" },
};

/** Seed 004's spec-agent-worker: annotated ServiceAccount, pod template without the label. */
const SEED_004_MANIFESTS = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: spec-agent-worker
  namespace: internal-platform
  annotations:
    azure.workload.identity/client-id: "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: spec-agent-worker
  namespace: internal-platform
spec:
  selector:
    matchLabels: {app: spec-agent-worker}
  template:
    metadata:
      labels: {app: spec-agent-worker}
    spec:
      serviceAccountName: spec-agent-worker
      containers: [{name: worker, image: registry.example/worker:1}]
`;

function checkBundle(bundle: Core.Bundle, cloud: Core.CloudKind, what: string): void {
  equal(bundle.cloud, cloud, `${what}: cloud`);
  equal(bundle.commands.bash.length, bundle.commands.powershell.length, `${what}: one PowerShell line per bash line`);
  for (const file of bundle.files) {
    ok(file.name.length > 0 && typeof file.contents === "string", `${what}: file ${file.name} has contents`);
  }
  for (const link of bundle.links) {
    ok(link.url.startsWith("https://"), `${what}: link ${link.label} is https`);
  }
  ok(typeof bundle.terraform === "string", `${what}: terraform is a string`);
  ok(Array.isArray(bundle.warnings), `${what}: warnings is an array`);
}

export const cases: Case[] = [
  {
    name: "version is the crate's semver",
    covers: ["version"],
    run(api) {
      ok(/^\d+\.\d+\.\d+/.test(api.version()), `version() looks like semver: ${api.version()}`);
    },
  },
  {
    name: "deriveExternalId equals HMAC-SHA256(secret, cloud_<kind>:<orgId>) in hex, for every cloud",
    covers: ["deriveExternalId"],
    async run(api, hmacHex) {
      for (const cloud of CLOUDS) {
        const expected = await hmacHex(SECRET, `cloud_${cloud}:acme`);
        equal(api.deriveExternalId(SECRET, cloud, "acme"), expected, `${cloud} external id`);
      }
      const text = "0123456789abcdef0123456789abcdef";
      equal(
        api.deriveExternalId(text, "aws", "acme"),
        api.deriveExternalId(new TextEncoder().encode(text), "aws", "acme"),
        "a string secret is its UTF-8 bytes",
      );
    },
  },
  {
    name: "deriveExternalId agrees with the reference HMAC for 300 random secrets and org ids",
    covers: ["deriveExternalId"],
    async run(api, hmacHex) {
      for (let i = 1; i <= 300; i++) {
        const bytes = randomBytes(i * 2654435761, 160);
        const secret = bytes.slice(0, 32 + ((bytes[0] ?? 0) % 64));
        const org = randomOrgId(bytes.slice(96));
        const cloud = CLOUDS[i % CLOUDS.length] ?? "aws";
        const expected = await hmacHex(secret, `cloud_${cloud}:${org}`);
        equal(api.deriveExternalId(secret, cloud, org), expected, `case ${i} (${cloud}, ${org})`);
      }
    },
  },
  {
    name: "deriveExternalId refuses bad input with the field it came from",
    covers: ["deriveExternalId"],
    run(api) {
      throwsCore(() => api.deriveExternalId(SECRET, "aws", "Acme Corp"), { code: "invalid_org_id", field: "orgId" }, "org id with capitals and a space");
      throwsCore(() => api.deriveExternalId(SECRET, "aws", "acme;rm -rf /"), { code: "invalid_org_id", field: "orgId" }, "org id with shell syntax");
      throwsCore(() => api.deriveExternalId(SECRET, "oracle" as Core.CloudKind, "acme"), { code: "invalid_cloud_kind", field: "cloudKind" }, "unknown cloud");
      throwsCore(() => api.deriveExternalId(42 as unknown as string, "aws", "acme"), { code: "invalid_argument", field: "secret" }, "secret of the wrong type");
      throwsCore(() => api.deriveExternalId("too short", "aws", "acme"), { code: "external_id_secret_too_short", field: "secret" }, "short secret");
    },
  },
  {
    name: "credentialKey and storeName follow the naming table of every store",
    covers: ["credentialKey", "storeName"],
    run(api) {
      const msal = api.credentialKey("msal", "client_secret");
      equal(msal, "msal:client_secret", "a credential key is service:purpose");
      equal(api.storeName(msal, { kind: "env" }).name, "MSAL_CLIENT_SECRET", "env");
      equal(api.storeName(msal, { kind: "azure_key_vault" }).name, "alphaswarm-msal-clientsecret", "azure key vault");
      equal(api.storeName(api.credentialKey("broker", "api_key"), { kind: "aws_secrets_manager" }).name, "alphaswarm/broker/api_key", "aws secrets manager");
      const gcp = api.storeName(api.credentialKey("postgres", "password"), { kind: "gcp_secret_manager", project: "alphaswarm-prod" });
      equal(gcp.name, "projects/alphaswarm-prod/secrets/alphaswarm-postgres-password", "gcp secret manager");
      equal(gcp.secretId, "alphaswarm-postgres-password", "gcp secret id");
      ok(api.storeName(msal, { kind: "file", bootstrapStateDir: "data/bootstrap" }).name.endsWith("msal-client_secret.json"), "file store is <dir>/<service>-<purpose>.json");
      const vault = api.storeName(api.credentialKey("redis", "password"), { kind: "vault_kv2" });
      ok(vault.name.includes("/data/") && (vault.metadataPath ?? "").includes("/metadata/"), `vault kv2 data and metadata paths: ${JSON.stringify(vault)}`);
    },
  },
  {
    name: "credentialKey and storeName refuse bad input",
    covers: ["credentialKey", "storeName"],
    run(api) {
      throwsCore(() => api.credentialKey("", "oauth"), { code: "invalid_credential_key", field: "service" }, "empty service");
      throwsCore(() => api.credentialKey("Msal", "oauth"), { code: "invalid_credential_key", field: "service" }, "capital in service");
      throwsCore(() => api.storeName("no-colon", { kind: "env" }), { code: "invalid_credential_key", field: "key" }, "key without a purpose");
      const key = api.credentialKey("msal", "client_secret");
      throwsCore(() => api.storeName(key, { kind: "s3" } as unknown as Core.Store), { code: "invalid_argument", field: "store" }, "unknown store kind");
      throwsCore(() => api.storeName(key, { kind: "gcp_secret_manager", project: "Bad Project" }), { code: "invalid_store_option", field: "project" }, "bad gcp project");
    },
  },
  {
    name: "findCollisions reports keys that share a name in one store",
    covers: ["findCollisions", "credentialKey"],
    run(api) {
      const keys = [api.credentialKey("polaris", "oauth-token"), api.credentialKey("polaris", "oauth_token"), api.credentialKey("neo4j", "basic")];
      const collisions = api.findCollisions(keys, { kind: "env" });
      equal(collisions.length, 1, "one collision in env");
      equal(collisions[0]?.name, "POLARIS_OAUTH_TOKEN", "colliding env name");
      equal([...(collisions[0]?.keys ?? [])].sort(), ["polaris:oauth-token", "polaris:oauth_token"], "the two keys");
      equal(api.findCollisions(keys, { kind: "file", bootstrapStateDir: "data" }).length, 0, "no collision in file");
      throwsCore(() => api.findCollisions(["polaris"], { kind: "env" }), { code: "invalid_credential_key", field: "keys" }, "malformed key");
    },
  },
  {
    name: "parseSecretValue reads JSON fields or the canonical credential",
    covers: ["parseSecretValue"],
    run(api) {
      const json = api.parseSecretValue('{"password":"p","username":"alphaswarm","port":5432}');
      equal(json.fields, { password: "p", port: 5432, username: "alphaswarm" }, "JSON fields");
      const plain = api.parseSecretValue("sk_live_abcdef1234567890");
      equal(plain.fields, { credential: "sk_live_abcdef1234567890" }, "plain string is the credential field");
    },
  },
  {
    name: "parseRoleArn splits a role ARN and refuses a broken one",
    covers: ["parseRoleArn"],
    run(api) {
      const arn = api.parseRoleArn("arn:aws:iam::123456789012:role/alphaswarm/alphaswarm-broker-acme");
      equal([arn.partition, arn.accountId, arn.path, arn.name], ["aws", "123456789012", "/alphaswarm/", "alphaswarm-broker-acme"], "parts");
      throwsCore(() => api.parseRoleArn("arn:aws:iam::12:role/x"), { code: "invalid_role_arn", field: "arn" }, "short account id");
      throwsCore(() => api.parseRoleArn("not an arn"), { code: "invalid_role_arn", field: "arn" }, "not an ARN");
    },
  },
  {
    name: "renderAwsBootstrap renders a bundle carrying the external id and partner account",
    covers: ["renderAwsBootstrap"],
    run(api) {
      const bundle = api.renderAwsBootstrap(awsOptions);
      checkBundle(bundle, "aws", "aws");
      equal(bundle.orgId, "acme", "org id");
      const text = JSON.stringify(bundle);
      ok(text.includes(awsOptions.externalId), "the external id appears in the bundle");
      ok(text.includes(awsOptions.partnerAccountId), "the partner account appears in the bundle");
      ok(bundle.commands.bash.length > 0, "there are commands");
    },
  },
  {
    name: "renderAwsBootstrap refuses bad options with the option's name",
    covers: ["renderAwsBootstrap"],
    run(api) {
      throwsCore(() => api.renderAwsBootstrap({ ...awsOptions, partnerAccountId: "12345" }), { code: "invalid_aws_account_id", field: "partnerAccountId" }, "short partner account");
      throwsCore(() => api.renderAwsBootstrap({ ...awsOptions, orgId: "acme'; curl evil" }), { code: "invalid_org_id", field: "orgId" }, "hostile org id");
      const cyclic: Record<string, unknown> = { orgId: "acme" };
      cyclic["self"] = cyclic;
      throwsCore(() => api.renderAwsBootstrap(cyclic as unknown as Core.AwsBootstrapRequest), { code: "invalid_argument", field: "options" }, "cyclic options");
      throwsCore(() => api.renderAwsBootstrap(undefined as unknown as Core.AwsBootstrapRequest), { code: "invalid_argument", field: "options" }, "no options");
      const missing = { orgId: "acme" } as unknown as Core.AwsBootstrapRequest;
      const error = throwsCore(() => api.renderAwsBootstrap(missing), { code: "invalid_argument", field: "options" }, "missing options");
      ok(error.message.includes("partnerAccountId"), `names the missing option: ${error.message}`);
    },
  },
  {
    name: "renderAzureBootstrap renders a bundle and refuses a bad GUID",
    covers: ["renderAzureBootstrap"],
    run(api) {
      checkBundle(api.renderAzureBootstrap(azureOptions), "azure", "azure");
      throwsCore(() => api.renderAzureBootstrap({ ...azureOptions, appObjectId: "not-a-guid" }), { code: "invalid_guid", field: "appObjectId" }, "bad object id");
      throwsCore(() => api.renderAzureBootstrap({ ...azureOptions, issuer: "http://insecure/" }), { code: "invalid_issuer_url", field: "issuer" }, "http issuer");
      // The default mode: a managed identity in the customer's tenant, no app.
      const identity = api.renderAzureBootstrap({
        orgId: "acme",
        issuer: ISSUER,
        tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        subscriptionId: "00000000-1111-2222-3333-444444444444",
      });
      checkBundle(identity, "azure", "azure managed identity");
      equal(identity.values.find((v) => v.name === "mode")?.value, "managed_identity", "default mode");
      equal(identity.values.find((v) => v.name === "identity_name")?.value, "alphaswarm-acme", "identity name");
      equal(identity.files.length, 0, "no file to upload");
      ok(identity.commands.bash.some((c) => c.startsWith("az identity federated-credential create")), "the identity's credential");
      throwsCore(() => api.renderAzureBootstrap({ orgId: "acme", issuer: ISSUER, location: "East US!" }), { code: "invalid_azure_location", field: "location" }, "bad location");
    },
  },
  {
    name: "validateAzureConnection normalises the ids and requires the identity's client id",
    covers: ["validateAzureConnection"],
    run(api) {
      const valid = api.validateAzureConnection({
        tenantId: " 72F988BF-86F1-41AF-91AB-2D7CD011DB47 ",
        subscriptionId: "00000000-1111-2222-3333-444444444444",
        clientId: "9B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D",
      });
      equal(valid.mode, "managed_identity", "default mode");
      equal(valid.tenantId, "72f988bf-86f1-41af-91ab-2d7cd011db47", "lowercase, trimmed");
      throwsCore(() => api.validateAzureConnection({ tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", subscriptionId: "00000000-1111-2222-3333-444444444444" }), { code: "missing_field", field: "clientId" }, "client id required");
      throwsCore(() => api.validateAzureConnection({ mode: "shared_app", tenantId: "nope", subscriptionId: "00000000-1111-2222-3333-444444444444" }), { code: "invalid_guid", field: "tenantId" }, "bad tenant");
      const shared = api.validateAzureConnection({ mode: "shared_app", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", subscriptionId: "00000000-1111-2222-3333-444444444444" });
      ok(shared.clientId === null || shared.clientId === undefined, "no client id in shared-app mode");
    },
  },
  {
    name: "renderGcpBootstrap renders a bundle and refuses a bad issuer",
    covers: ["renderGcpBootstrap"],
    run(api) {
      checkBundle(api.renderGcpBootstrap(gcpOptions), "gcp", "gcp");
      throwsCore(() => api.renderGcpBootstrap({ ...gcpOptions, issuer: "ftp://x" }), { code: "invalid_issuer_url", field: "issuer" }, "bad issuer");
    },
  },
  {
    name: "renderCloudflareBootstrap renders each template and refuses an unknown one",
    covers: ["renderCloudflareBootstrap"],
    run(api) {
      for (const template of ["dns_edit", "tunnel", "access", "worker", "r2"] as const) {
        checkBundle(api.renderCloudflareBootstrap({ template }), "cloudflare", `cloudflare ${template}`);
      }
      throwsCore(() => api.renderCloudflareBootstrap({ template: "admin" as Core.CloudflareTemplate }), { code: "invalid_cloudflare_template", field: "template" }, "unknown template");
      throwsCore(() => api.renderCloudflareBootstrap({ template: "r2", tokenOwner: "account" }), { code: "missing_field", field: "accountId" }, "an account-owned token needs the account id");
      const owned = api.renderCloudflareBootstrap({ template: "r2", tokenOwner: "account", accountId: "0123456789abcdef0123456789abcdef" });
      ok(owned.links[0]?.url.startsWith("https://dash.cloudflare.com/?to=/:account/api-tokens&") === true, "account form of the link");
    },
  },
  {
    name: "compareBaseline reports what is missing and what is extra",
    covers: ["compareBaseline"],
    run(api) {
      const report = api.compareBaseline("cloudflare", ["DNS Write", "Zone Read", "Workers Scripts Write"], "dns_edit");
      equal(report.missing, [], "nothing missing");
      equal(report.extra, ["Workers Scripts Write"], "extra permission");
      const byId = api.compareBaseline("cloudflare", ["c8fed203ed3043cba015a93ad1616f1f", "4755a26eedb94da69e1066d98aa820be"], "dns_edit");
      ok(byId.satisfied, "permission-group ids match too");
      ok(report.satisfied, "satisfied");
      const tunnel = api.compareBaseline("cloudflare", [], "tunnel");
      ok(!tunnel.satisfied && tunnel.missing.length > 0, "tunnel needs its write group");
      ok(api.compareBaseline("aws", []).missing.length > 0, "an empty AWS grant misses the baseline");
      throwsCore(() => api.compareBaseline("cloudflare", []), { code: "cloudflare_template_required", field: "template" }, "cloudflare without a template");
      throwsCore(() => api.compareBaseline("cloudflare", [], "admin" as Core.CloudflareTemplate), { code: "invalid_cloudflare_template", field: "template" }, "unknown template");
      throwsCore(() => api.compareBaseline("oracle" as Core.CloudKind, []), { code: "invalid_cloud_kind", field: "cloudKind" }, "unknown cloud");
    },
  },
  {
    name: "wizardSteps lists the steps in order",
    covers: ["wizardSteps"],
    run(api) {
      const steps = api.wizardSteps();
      equal(steps.map((s) => s.number), ["1", "2", "3", "4", "4*", "5"], "steps 1-5 with the optional 4*");
      ok(steps.every((s) => s.title.length > 0), "every step has a title");
    },
  },
  {
    name: "renderWorkloadIdentity wires an AKS workload: federated credential, label on the pod template, every cloud",
    covers: ["renderWorkloadIdentity"],
    run(api) {
      const bundle = api.renderWorkloadIdentity(workloadOptions);
      checkBundle(bundle, "azure", "aks");
      equal(bundle.orgId, "__platform__", "a platform tool");
      const patch = bundle.files.find((f) => f.name === "pod_template_patch.yaml")?.contents ?? "";
      ok(patch.includes('azure.workload.identity/use: "true"'), `the pod label is a quoted string: ${patch}`);
      const fic = JSON.parse(bundle.files.find((f) => f.name === "federated_credential.json")?.contents ?? "{}") as { subject: string; issuer: string };
      equal(fic.subject, "system:serviceaccount:internal-platform:spec-agent-worker", "FIC subject");
      equal(fic.issuer, workloadOptions.issuer, "issuer kept exactly (trailing slash)");
      const eks = api.renderWorkloadIdentity({ ...workloadOptions, issuer: "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", cloud: { kind: "eks", accountId: "111122223333", region: "us-east-1" } });
      checkBundle(eks, "aws", "eks");
      const pod = api.renderWorkloadIdentity({ ...workloadOptions, issuer: null, cloud: { kind: "eks_pod_identity", accountId: "111122223333", region: "us-east-1" } });
      ok(pod.commands.bash.some((c) => c.startsWith("aws eks create-pod-identity-association")), "pod identity association");
      const gke = api.renderWorkloadIdentity({ ...workloadOptions, issuer: null, externalSecrets: "secret_store", cloud: { kind: "gke", projectId: "alphaswarm-prod", projectNumber: "123456789012" } });
      checkBundle(gke, "gcp", "gke");
      ok(gke.files.some((f) => f.name === "external_secrets.yaml"), "the ESO variant");
    },
  },
  {
    name: "renderWorkloadIdentity refuses bad options with the option's name",
    covers: ["renderWorkloadIdentity"],
    run(api) {
      throwsCore(() => api.renderWorkloadIdentity({ ...workloadOptions, namespace: "Internal Platform" }), { code: "invalid_k8s_namespace", field: "namespace" }, "namespace with capitals");
      throwsCore(() => api.renderWorkloadIdentity({ ...workloadOptions, serviceAccount: "sa;rm -rf /" }), { code: "invalid_k8s_service_account", field: "serviceAccount" }, "hostile service account");
      const error = throwsCore(() => api.renderWorkloadIdentity({ ...workloadOptions, issuer: null }), { code: "invalid_input", field: "issuer" }, "missing issuer");
      ok(error.message.includes("az aks show --name aucert-aks"), `names the query that prints the issuer: ${error.message}`);
      throwsCore(() => api.renderWorkloadIdentity({ ...workloadOptions, cloud: { kind: "openshift" } } as unknown as Core.WorkloadIdentityRequest), { code: "invalid_argument", field: "options" }, "unknown cloud");
    },
  },
  {
    name: "diagnoseWorkload finds seed 004's missing pod label, and maps a pasted error",
    covers: ["diagnoseWorkload"],
    run(api) {
      const diagnosis = api.diagnoseWorkload({ cloud: "aks", manifests: SEED_004_MANIFESTS });
      equal(diagnosis.findings.map((f) => f.code), ["aks_pod_label_missing"], "exactly the seed's finding");
      equal(diagnosis.workloads[0]?.serviceAccount, "spec-agent-worker", "the workload's service account");
      ok((diagnosis.findings[0]?.fixSnippet ?? "").includes('azure.workload.identity/use: "true"'), "the fix is the label");
      const logged = api.diagnoseWorkload({
        cloud: "aks",
        manifests: SEED_004_MANIFESTS,
        errorText: "CredentialUnavailableException: WorkloadIdentityCredential authentication unavailable. The workload options are not fully configured.",
      });
      ok(logged.findings.some((f) => f.code === "log_workload_identity_not_injected"), "the pasted error is mapped");
    },
  },
  {
    name: "diagnoseWorkload refuses hostile YAML with a code, never hangs",
    covers: ["diagnoseWorkload"],
    run(api) {
      let bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
      for (let i = 1; i < 10; i++) bomb += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]\n`;
      throwsCore(() => api.diagnoseWorkload({ cloud: "aks", manifests: bomb }), { code: "yaml_too_many_nodes", field: "manifests" }, "alias bomb");
      throwsCore(() => api.diagnoseWorkload({ cloud: "aks", manifests: "kind: ConfigMap\nmetadata: {name: a}\n" }), { code: "no_workload", field: "manifests" }, "wrong kind");
      throwsCore(() => api.diagnoseWorkload({ cloud: "aks", manifests: SEED_004_MANIFESTS, cloudOutput: { federatedCredentials: "{oops" } }), { code: "invalid_cloud_output", field: "federatedCredentials" }, "broken cloud output");
    },
  },
];
