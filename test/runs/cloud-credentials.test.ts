/**
 * src/runs/cloud-credentials.ts: each cloud's credentials are found where its SDK's standard
 * chain looks (env, profile files, SSO, gcloud ADC, az CLI), and their absence is E3031 saying
 * which were looked for.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DstackError } from "../../src/diagnostics";
import { findCloudCredentials, parseIni, requireCloudCredentials } from "../../src/runs/cloud-credentials";

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-creds-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(home, rel)), { recursive: true });
  fs.writeFileSync(path.join(home, rel), text);
}

test("AWS: env keys, a profile's keys, an SSO profile, a role; half a pair is not enough", () => {
  expect(findCloudCredentials("aws", { HOME: home })).toBeNull();
  expect(findCloudCredentials("aws", { HOME: home, AWS_ACCESS_KEY_ID: "AKIA" })).toBeNull();
  expect(findCloudCredentials("aws", { HOME: home, AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s" })?.source).toContain("AWS_ACCESS_KEY_ID");
  write(".aws/credentials", "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
  expect(findCloudCredentials("aws", { HOME: home })?.source).toContain("profile default");
  // another profile than the one in the file: not found there
  expect(findCloudCredentials("aws", { HOME: home, AWS_PROFILE: "work" })).toBeNull();
  write(".aws/config", "[profile work]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n");
  expect(findCloudCredentials("aws", { HOME: home, AWS_PROFILE: "work" })?.source).toMatch(/^SSO profile work/);
  write(".aws/config", "[profile ci]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  expect(findCloudCredentials("aws", { HOME: home, AWS_PROFILE: "ci" })?.source).toMatch(/^role profile ci/);
  expect(findCloudCredentials("aws", { HOME: "/nonexistent", AWS_WEB_IDENTITY_TOKEN_FILE: "/t", AWS_ROLE_ARN: "arn" })?.source).toContain("web identity");
});

test("GCP: env, a key file that exists, gcloud's application default credentials", () => {
  expect(findCloudCredentials("gcp", { HOME: home })).toBeNull();
  expect(findCloudCredentials("gcp", { HOME: home, GOOGLE_APPLICATION_CREDENTIALS: path.join(home, "missing.json") })).toBeNull();
  write("key.json", "{}");
  expect(findCloudCredentials("gcp", { HOME: home, GOOGLE_APPLICATION_CREDENTIALS: path.join(home, "key.json") })?.source).toContain("GOOGLE_APPLICATION_CREDENTIALS");
  write(".config/gcloud/application_default_credentials.json", "{}");
  expect(findCloudCredentials("gcp", { HOME: home })?.source).toContain("gcloud application default credentials");
});

test("Azure: a service principal, or the az CLI logged in (a subscription in azureProfile.json)", () => {
  expect(findCloudCredentials("azure", { HOME: home })).toBeNull();
  expect(findCloudCredentials("azure", { HOME: home, ARM_CLIENT_ID: "a", ARM_CLIENT_SECRET: "b", ARM_TENANT_ID: "c" })?.source).toContain("service principal");
  write(".azure/azureProfile.json", "\uFEFF" + JSON.stringify({ subscriptions: [] }));
  expect(findCloudCredentials("azure", { HOME: home })).toBeNull();
  write(".azure/azureProfile.json", "\uFEFF" + JSON.stringify({ subscriptions: [{ id: "s", isDefault: true }] }));
  expect(findCloudCredentials("azure", { HOME: home })?.source).toContain("az CLI");
});

test("none found: E3031 (exit 5) names the backend, what was looked for and how to log in", () => {
  let err: unknown;
  try {
    requireCloudCredentials("gcp", { HOME: home });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DstackError);
  const d = (err as DstackError).diagnostics[0];
  expect((err as DstackError).exitCode).toBe(5);
  expect(d.code).toBe("E3031");
  expect(d.message).toMatch(/^no gcp credentials: looked for GOOGLE_CREDENTIALS/);
  expect(d.hint).toContain("gcloud auth application-default login");
});

test("INI sections and keys (comments, BOM, spacing)", () => {
  expect(parseIni("\uFEFF# c\n[default]\nA = 1 ; note\n[profile x]\nb=2\n")).toEqual({ default: { a: "1" }, "profile x": { b: "2" } });
});
