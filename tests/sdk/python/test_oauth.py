# SailPoint's official Python SDK (PyPI `sailpoint`, 2.x), unchanged, against a real
# `baack serve`: configured as its README says (SAIL_BASE_URL, SAIL_CLIENT_ID and
# SAIL_CLIENT_SECRET in the environment), it fetches its own access token from
# {base}/oauth/token, then creates seed 002's OAuth client through /oauth-clients/v1, lists
# it with filters, gets, patches and deletes it. Run by scripts/sdk-tests; exits non-zero
# on the first failure.
import os
import sys

from sailpoint import ApiClient, Configuration, OAuthClientsApi
from sailpoint.exceptions import NotFoundException
from sailpoint.oauth_clients.models import (
    CreateOAuthClientRequest,
    JsonPatchOperation,
    JsonPatchOperationValue,
)

# Seed 002's create body (API.md §2's example).
SEED_002 = {
    "businessName": "Acme-Solar",
    "homepageUrl": "http://localhost:12345",
    "name": "Demo API Client",
    "description": "An API client used for the authorization_code, refresh_token, and client_credentials flows",
    "accessTokenValiditySeconds": 750,
    "refreshTokenValiditySeconds": 86400,
    "redirectUris": ["http://localhost:12345"],
    "grantTypes": ["AUTHORIZATION_CODE", "CLIENT_CREDENTIALS", "REFRESH_TOKEN"],
    "accessType": "OFFLINE",
    "type": "CONFIDENTIAL",
    "internal": False,
    "enabled": True,
    "strongAuthSupported": False,
    "claimsSupported": False,
    "scope": ["demo:api-client-scope:first", "demo:api-client-scope:second"],
}

passed = 0


def step(name):
    global passed
    passed += 1
    print(f"python sdk: ok {passed} - {name}", flush=True)


def ids(clients):
    return {c.id for c in clients}


def main():
    for var in ("SAIL_BASE_URL", "SAIL_CLIENT_ID", "SAIL_CLIENT_SECRET"):
        if not os.environ.get(var):
            sys.exit(f"python sdk: {var} is not set (scripts/sdk-tests sets it)")

    # The README's way: everything from the environment, the token fetched at once.
    configuration = Configuration()
    assert isinstance(configuration.access_token, str) and configuration.access_token, (
        "the SDK got no access token from /oauth/token"
    )
    step("token from /oauth/token (client_credentials, as the SDK sends it)")
    api = OAuthClientsApi(ApiClient(configuration))

    created = api.create_oauth_client_v1(CreateOAuthClientRequest.from_dict(SEED_002))
    assert len(created.id) == 32 and len(created.secret) == 64, created
    assert created.name == "Demo API Client"
    assert created.business_name == "Acme-Solar"
    assert created.grant_types == SEED_002["grantTypes"], created.grant_types
    assert created.scope == SEED_002["scope"], created.scope
    step(f"create seed 002 -> {created.id}")

    # SailPoint's create response declares businessName and homepageUrl non-null strings:
    # a client made without them must still parse, so that the caller sees its secret.
    bare = api.create_oauth_client_v1(
        CreateOAuthClientRequest(
            name="sdk bare",
            description="no business name, no homepage",
            access_token_validity_seconds=600,
            grant_types=["CLIENT_CREDENTIALS"],
            access_type="ONLINE",
            enabled=True,
        )
    )
    assert bare.business_name == "" and bare.homepage_url == "", bare
    assert len(bare.secret) == 64
    step("create without businessName/homepageUrl parses (\"\" not null)")

    never = ids(api.list_oauth_clients_v1(filters="lastUsed isnull"))
    assert created.id in never and bare.id in never, never
    used = ids(api.list_oauth_clients_v1(filters='lastUsed le "2999-01-01T00:00:00Z"'))
    assert created.id not in used, used
    assert ids(api.list_oauth_clients_v1(filters="not lastUsed isnull")) == used
    everyone = ids(api.list_oauth_clients_v1())
    assert {created.id, bare.id} <= everyone, everyone
    step("list with filters (isnull, le quoted, not)")

    got = api.get_oauth_client_v1(created.id)
    assert got.id == created.id and got.secret is None, got
    assert got.homepage_url == "http://localhost:12345"
    assert got.redirect_uris == ["http://localhost:12345"]
    assert got.last_used is None
    assert got.created == created.created
    step("get")

    patched = api.patch_oauth_client_v1(
        created.id,
        [
            JsonPatchOperation(
                op="replace",
                path="/description",
                value=JsonPatchOperationValue("patched by the Python SDK"),
            ),
            JsonPatchOperation(
                op="replace", path="/enabled", value=JsonPatchOperationValue(False)
            ),
        ],
    )
    assert patched.description == "patched by the Python SDK", patched
    assert patched.enabled is False
    assert patched.modified >= got.modified
    assert api.get_oauth_client_v1(created.id).description == "patched by the Python SDK"
    step("patch")

    for c in (created, bare):
        api.delete_oauth_client_v1(c.id)
    try:
        api.get_oauth_client_v1(created.id)
    except NotFoundException:
        pass
    else:
        raise AssertionError("the deleted client is still there")
    assert not {created.id, bare.id} & ids(api.list_oauth_clients_v1())
    step("delete")


if __name__ == "__main__":
    main()
    print(f"python sdk: {passed} passed, 0 failed")
