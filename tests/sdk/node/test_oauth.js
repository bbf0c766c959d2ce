// SailPoint's official TypeScript/JavaScript SDK (npm `sailpoint-api-client`), unchanged,
// against a real `baack serve`: configured as its README says (SAIL_BASE_URL,
// SAIL_CLIENT_ID and SAIL_CLIENT_SECRET in the environment), it fetches its own access
// token from {base}/oauth/token (multipart/form-data), then, through each of its OAuth
// client APIs (v3, beta, v2024), creates seed 002's client, lists with filters, gets,
// patches and deletes it. Run by scripts/sdk-tests (which puts the installed package on
// NODE_PATH); exits non-zero on the first failure.
"use strict";

const assert = require("node:assert/strict");
const sdk = require("sailpoint-api-client");

// Seed 002's create body (API.md §2's example).
const SEED_002 = {
  businessName: "Acme-Solar",
  homepageUrl: "http://localhost:12345",
  name: "Demo API Client",
  description:
    "An API client used for the authorization_code, refresh_token, and client_credentials flows",
  accessTokenValiditySeconds: 750,
  refreshTokenValiditySeconds: 86400,
  redirectUris: ["http://localhost:12345"],
  grantTypes: ["AUTHORIZATION_CODE", "CLIENT_CREDENTIALS", "REFRESH_TOKEN"],
  accessType: "OFFLINE",
  type: "CONFIDENTIAL",
  internal: false,
  enabled: true,
  strongAuthSupported: false,
  claimsSupported: false,
  scope: ["demo:api-client-scope:first", "demo:api-client-scope:second"],
};

// The SDK's own response models (CreateOAuthClientResponse and GetOAuthClientResponse,
// the same in its v3, beta and v2024 APIs), as TypeScript declares them: the SDK does not
// check them at run time, so this does. "?" marks a member that may be absent.
const ENUMS = {
  grantType: ["CLIENT_CREDENTIALS", "AUTHORIZATION_CODE", "REFRESH_TOKEN"],
  accessType: ["ONLINE", "OFFLINE"],
  clientType: ["CONFIDENTIAL", "PUBLIC"],
};
const COMMON = {
  id: "string",
  name: "string",
  accessTokenValiditySeconds: "number",
  refreshTokenValiditySeconds: "number",
  grantTypes: "grantType[]",
  accessType: "accessType",
  type: "clientType",
  internal: "boolean",
  enabled: "boolean",
  strongAuthSupported: "boolean",
  claimsSupported: "boolean",
  created: "string",
  modified: "string",
  scope: "string[]|null",
};
const CREATE_RESPONSE = {
  ...COMMON,
  secret: "string",
  businessName: "string",
  homepageUrl: "string",
  description: "string",
  redirectUris: "string[]",
};
const GET_RESPONSE = {
  ...COMMON,
  businessName: "string|null",
  homepageUrl: "string|null",
  description: "string|null",
  redirectUris: "string[]|null",
  secret: "string|null?",
  metadata: "string|null?",
  lastUsed: "string|null?",
};

function isA(value, type) {
  if (type.endsWith("[]")) {
    return Array.isArray(value) && value.every((v) => isA(v, type.slice(0, -2)));
  }
  if (ENUMS[type]) return ENUMS[type].includes(value);
  return typeof value === type;
}

function conforms(what, value, model) {
  for (const [field, declared] of Object.entries(model)) {
    const optional = declared.endsWith("?");
    const types = declared.replace(/\?$/, "").split("|");
    if (!(field in value)) {
      assert.ok(optional, `${what}: no ${field}`);
      continue;
    }
    const v = value[field];
    const ok = types.some((t) => (t === "null" ? v === null : isA(v, t)));
    assert.ok(ok, `${what}: ${field} is ${JSON.stringify(v)}, the SDK declares ${declared}`);
  }
}

let passed = 0;
function step(name) {
  passed += 1;
  console.log(`node sdk: ok ${passed} - ${name}`);
}

const ids = (clients) => new Set(clients.map((c) => c.id));

// Each API names its body parameters after its version: createOAuthClientRequestBeta...
async function flow(label, api, suffix) {
  const { data: created, status } = await api.createOauthClient({
    [`createOAuthClientRequest${suffix}`]: SEED_002,
  });
  assert.equal(status, 200);
  conforms(`${label} create`, created, CREATE_RESPONSE);
  assert.match(created.id, /^[0-9a-f]{32}$/);
  assert.match(created.secret, /^[0-9a-f]{64}$/);
  assert.equal(created.name, "Demo API Client");
  assert.deepEqual(created.grantTypes, SEED_002.grantTypes);
  assert.deepEqual(created.scope, SEED_002.scope);
  step(`${label}: create seed 002 -> ${created.id}`);

  const { data: bare } = await api.createOauthClient({
    [`createOAuthClientRequest${suffix}`]: {
      name: `sdk bare ${label}`,
      description: "no business name, no homepage",
      accessTokenValiditySeconds: 600,
      grantTypes: ["CLIENT_CREDENTIALS"],
      accessType: "ONLINE",
      enabled: true,
    },
  });
  conforms(`${label} create without optional fields`, bare, CREATE_RESPONSE);
  assert.equal(bare.businessName, "");
  assert.equal(bare.homepageUrl, "");
  step(`${label}: create without businessName/homepageUrl ("" not null)`);

  const never = ids((await api.listOauthClients({ filters: "lastUsed isnull" })).data);
  assert.ok(never.has(created.id) && never.has(bare.id), [...never].join(" "));
  const used = ids(
    (await api.listOauthClients({ filters: 'lastUsed le "2999-01-01T00:00:00Z"' })).data,
  );
  assert.ok(!used.has(created.id));
  const notNull = ids((await api.listOauthClients({ filters: "not lastUsed isnull" })).data);
  assert.deepEqual(notNull, used);
  const listed = (await api.listOauthClients()).data;
  listed.forEach((c) => conforms(`${label} list`, c, GET_RESPONSE));
  const all = ids(listed);
  assert.ok(all.has(created.id) && all.has(bare.id));
  step(`${label}: list with filters (isnull, le quoted, not)`);

  const { data: got } = await api.getOauthClient({ id: created.id });
  conforms(`${label} get`, got, GET_RESPONSE);
  assert.equal(got.id, created.id);
  assert.equal(got.secret, null);
  assert.equal(got.homepageUrl, "http://localhost:12345");
  assert.equal(got.lastUsed, null);
  assert.equal(got.created, created.created);
  step(`${label}: get`);

  const { data: patched } = await api.patchOauthClient({
    id: created.id,
    [`jsonPatchOperation${suffix}`]: [
      { op: "replace", path: "/description", value: `patched by the node SDK (${label})` },
      { op: "replace", path: "/enabled", value: false },
    ],
  });
  conforms(`${label} patch`, patched, GET_RESPONSE);
  assert.equal(patched.description, `patched by the node SDK (${label})`);
  assert.equal(patched.enabled, false);
  assert.ok(patched.modified >= got.modified);
  step(`${label}: patch`);

  for (const c of [created, bare]) {
    const { status } = await api.deleteOauthClient({ id: c.id });
    assert.equal(status, 204);
  }
  await assert.rejects(api.getOauthClient({ id: created.id }), (e) => {
    assert.equal(e.response && e.response.status, 404, String(e));
    return true;
  });
  const left = ids((await api.listOauthClients()).data);
  assert.ok(!left.has(created.id) && !left.has(bare.id));
  step(`${label}: delete`);
}

async function main() {
  for (const v of ["SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET"]) {
    if (!process.env[v]) {
      throw new Error(`${v} is not set (scripts/sdk-tests sets it)`);
    }
  }
  // The README's way: `new Configuration()` reads the environment and fetches a token.
  const config = new sdk.Configuration();
  const token = await config.accessToken;
  assert.equal(typeof token, "string");
  assert.ok(token.length > 0, "no access token from /oauth/token");
  step("token from /oauth/token (client_credentials, multipart, as the SDK sends it)");
  await flow("v3", new sdk.OAuthClientsApi(config), "");
  await flow("beta", new sdk.OAuthClientsBetaApi(config), "Beta");
  await flow("v2024", new sdk.OAuthClientsV2024Api(config), "V2024");
}

main().then(
  () => console.log(`node sdk: ${passed} passed, 0 failed`),
  (e) => {
    console.error(e && e.response ? `${e}: ${JSON.stringify(e.response.data)}` : e);
    console.log(`node sdk: ${passed} passed, 1 failed`);
    process.exit(1);
  },
);
