//! Access tokens shaped like those of the big identity providers (header
//! and claims as each documents and issues them), validated with the
//! configuration `docs/providers.md` recommends for each. Real keys, real
//! signatures; only the provider is simulated.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Value, json};
use tokengate::{Algorithm, Error, Issuer, KeySet, ManualClock, ScopeRequirement, Validator, Verified};
use tokengate_testkit::SigningKey;
use tokengate_tests::{NOW, assert_refused, block_on};

const INVALID: Option<&str> = Some("invalid_token");

fn validator(issuer: Issuer) -> Validator {
    Validator::builder().issuer(issuer).clock(ManualClock::new(NOW)).build().expect("a valid configuration")
}

fn validate<C: serde::de::DeserializeOwned + Send + Sync + 'static>(
    validator: &Validator,
    token: &str,
) -> Result<Verified<C>, Error> {
    block_on(validator.validate_token(token))
}

fn rs256(kid: &str) -> SigningKey {
    SigningKey::generate(Algorithm::RS256).with_kid(kid)
}

fn keys(key: &SigningKey) -> KeySet {
    KeySet::new([key.verification_key()])
}

fn scopes<C>(verified: &Verified<C>) -> Vec<&str> {
    verified.scopes().iter().collect()
}

// ---------------------------------------------------------------------------
// Auth0
// ---------------------------------------------------------------------------

const AUTH0_ISS: &str = "https://example-tenant.us.auth0.com/";
const AUTH0_API: &str = "https://api.example.com";

fn auth0_issuer(key: &SigningKey) -> Issuer {
    Issuer::new(AUTH0_ISS).audience(AUTH0_API).algorithms([Algorithm::RS256]).keys(keys(key))
}

/// Auth0 with RBAC and "Add Permissions in the Access Token": `permissions`
/// is an array. A client-credentials (M2M) token carries no `scope`
/// beside it when the API grants through permissions only, so the
/// permissions are the scopes.
#[test]
fn auth0_permissions() {
    let key = rs256("auth0-NkZCQzE4");
    let validator = validator(auth0_issuer(&key));
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "auth0-NkZCQzE4" });
    let token = key.token_with_header(
        &header,
        &json!({
            "iss": AUTH0_ISS,
            "sub": "auth0|64f1c0ffee",
            "aud": [AUTH0_API, "https://example-tenant.us.auth0.com/userinfo"],
            "iat": NOW - 60,
            "exp": NOW + 86_400 - 60,
            "azp": "8Xk3nN1PqL0mXyZ",
            "permissions": ["read:messages", "write:messages"],
        }),
    );
    let verified = validate::<Value>(&validator, &token).unwrap();
    assert_eq!(scopes(&verified), ["read:messages", "write:messages"]);
    assert!(verified.require(&ScopeRequirement::scope("write:messages")).is_ok());
    assert_eq!(
        verified.require(&ScopeRequirement::scope("admin")),
        Err(Error::InsufficientScope(ScopeRequirement::scope("admin")))
    );
    assert_eq!(verified.claims()["azp"], "8Xk3nN1PqL0mXyZ");
}

/// A user token with both `scope` (the OAuth scopes granted) and
/// `permissions` (the user's RBAC permissions): `scope` decides the
/// scopes, as the contract says (the first of `scope`, `scp`,
/// `permissions`); the permissions stay readable as a claim.
#[test]
fn auth0_scope_and_permissions() {
    #[derive(Deserialize)]
    struct Auth0Claims {
        #[serde(default)]
        permissions: Vec<String>,
    }
    let key = rs256("auth0-key");
    let validator = validator(auth0_issuer(&key));
    let token = key.token(&json!({
        "iss": AUTH0_ISS,
        "sub": "google-oauth2|1098",
        "aud": [AUTH0_API, "https://example-tenant.us.auth0.com/userinfo"],
        "iat": NOW - 5,
        "exp": NOW + 3600,
        "azp": "spa-client",
        "scope": "openid profile email read:messages",
        "permissions": ["read:messages", "delete:messages"],
    }));
    let verified = validate::<Auth0Claims>(&validator, &token).unwrap();
    assert_eq!(scopes(&verified), ["email", "openid", "profile", "read:messages"]);
    assert_eq!(verified.claims().permissions, ["read:messages", "delete:messages"]);
    // Another API's Auth0 token is not ours.
    let other = key.token(&json!({
        "iss": AUTH0_ISS, "sub": "x", "aud": "https://other.example.com", "exp": NOW + 60, "permissions": [],
    }));
    assert_refused(validate::<Value>(&validator, &other), Error::WrongAudience, 401, INVALID, &other);
}

// ---------------------------------------------------------------------------
// Okta
// ---------------------------------------------------------------------------

/// Okta custom authorization server: `iss` without a trailing slash,
/// `aud` such as `api://default`, `scp` an array, the client in `cid`.
#[test]
fn okta_scp_array() {
    const ISS: &str = "https://dev-123456.okta.com/oauth2/default";
    let key = rs256("okta-kid-1");
    let validator =
        validator(Issuer::new(ISS).audience("api://default").algorithms([Algorithm::RS256]).keys(keys(&key)));
    let token = key.token_with_header(
        &json!({ "kid": "okta-kid-1", "alg": "RS256" }),
        &json!({
            "ver": 1,
            "jti": "AT.u7Z3nN1PqL0mXyZ8Xk3",
            "iss": ISS,
            "aud": "api://default",
            "iat": NOW - 10,
            "exp": NOW + 3590,
            "cid": "0oa1b2c3d4e5f6g7h8i9",
            "uid": "00u1a2b3c4d5e6f7g8h9",
            "scp": ["openid", "email", "orders:read"],
            "auth_time": NOW - 20,
            "sub": "jane@example.com",
        }),
    );
    let verified = validate::<Value>(&validator, &token).unwrap();
    assert_eq!(scopes(&verified), ["email", "openid", "orders:read"]);
    assert_eq!(verified.subject(), Some("jane@example.com"));
    assert_eq!(verified.claims()["cid"], "0oa1b2c3d4e5f6g7h8i9");
    // The org authorization server (no `/oauth2/default`) is another issuer.
    let org =
        key.token(&json!({ "iss": "https://dev-123456.okta.com", "aud": "api://default", "exp": NOW + 60 }));
    assert_refused(validate::<Value>(&validator, &org), Error::UntrustedIssuer, 401, INVALID, &org);
}

// ---------------------------------------------------------------------------
// Microsoft Entra ID
// ---------------------------------------------------------------------------

const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const ENTRA_CLIENT: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

fn entra_issuer(key: &SigningKey) -> Issuer {
    Issuer::new(format!("https://login.microsoftonline.com/{TENANT}/v2.0"))
        .audience(ENTRA_CLIENT)
        .audience(format!("api://{ENTRA_CLIENT}"))
        .algorithms([Algorithm::RS256])
        .keys(keys(key))
}

fn entra_claims(extra: Value) -> Value {
    let mut claims = json!({
        "aud": ENTRA_CLIENT,
        "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "iat": NOW - 30,
        "nbf": NOW - 30,
        "exp": NOW + 4000,
        "aio": "AWQAm/8UAAAA",
        "azp": "1f4e0b5c-0b9a-4c4f-9d0f-8f3f2b1a0c9d",
        "azpacr": "0",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "rh": "0.AAAA",
        "sub": "MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q",
        "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0",
    });
    claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    claims
}

/// Entra ID v2 delegated token: `scp` is a space-separated string; the
/// header carries `typ: JWT` and `kid` (v1 tokens also `x5t`, ignored).
#[test]
fn entra_id_scp_string_and_app_roles() {
    let key = rs256("nOo3ZDrODXEK1jKWhXslHR_KXEg");
    let delegated_validator = validator(entra_issuer(&key));
    let header = json!({ "typ": "JWT", "alg": "RS256", "kid": "nOo3ZDrODXEK1jKWhXslHR_KXEg", "x5t": "nOo3ZDrODXEK1jKWhXslHR_KXEg" });
    let delegated = key.token_with_header(
        &header,
        &entra_claims(json!({ "scp": "access_as_user Files.Read", "name": "Jane", "preferred_username": "jane@contoso.com" })),
    );
    let verified = validate::<Value>(&delegated_validator, &delegated).unwrap();
    assert_eq!(scopes(&verified), ["Files.Read", "access_as_user"]);

    // App-only (client-credentials) tokens carry `roles`, not `scp`: no
    // scopes; check the roles with a claim check or your claims type.
    let roles_validator = validator(entra_issuer(&key).check(|claims| {
        let roles: Vec<String> = claims.get("roles").and_then(Result::ok).unwrap_or_default();
        if roles.iter().any(|r| r == "Orders.ReadWrite.All") {
            Ok(())
        } else {
            Err("the token lacks the app role Orders.ReadWrite.All".into())
        }
    }));
    let app = key.token_with_header(
        &header,
        &entra_claims(json!({ "roles": ["Orders.ReadWrite.All"], "idtyp": "app" })),
    );
    let verified = validate::<Value>(&roles_validator, &app).unwrap();
    assert!(verified.scopes().is_empty());
    let no_role = key.token_with_header(&header, &entra_claims(json!({ "roles": ["Orders.Read.All"] })));
    assert_refused(
        validate::<Value>(&roles_validator, &no_role),
        Error::ClaimCheckFailed(Cow::Borrowed("the token lacks the app role Orders.ReadWrite.All")),
        401,
        INVALID,
        &no_role,
    );
    // A v1 token of the same tenant names another issuer (sts.windows.net).
    let v1 = key.token(&entra_claims(
        json!({ "iss": format!("https://sts.windows.net/{TENANT}/"), "ver": "1.0", "scp": "x" }),
    ));
    assert_refused(validate::<Value>(&delegated_validator, &v1), Error::UntrustedIssuer, 401, INVALID, &v1);
}

// ---------------------------------------------------------------------------
// Keycloak
// ---------------------------------------------------------------------------

/// Keycloak: `scope` a space-separated string, realm roles in
/// `realm_access.roles`, client roles in `resource_access`, and a `typ`
/// *claim* of `Bearer` (not the header). `aud` names this API only when an
/// audience mapper is configured for the client.
#[test]
fn keycloak_scope_and_realm_access() {
    #[derive(Debug, Deserialize)]
    struct Roles {
        roles: Vec<String>,
    }
    #[derive(Debug, Deserialize)]
    struct KeycloakClaims {
        realm_access: Roles,
        #[serde(default)]
        resource_access: std::collections::HashMap<String, Roles>,
        preferred_username: String,
    }
    const ISS: &str = "https://kc.example.com/realms/shop";
    let key = rs256("x5ek6BHKKPJ3sUz3ZJ7fv9zJ4ZgZB2dZ5QZ0rkBv8Xo");
    let issuer =
        Issuer::new(ISS).audience("orders-api").algorithms([Algorithm::RS256]).keys(keys(&key)).check(
            |claims| {
                let realm: Option<Roles> = claims.get("realm_access").and_then(Result::ok);
                match realm {
                    Some(realm) if realm.roles.iter().any(|r| r == "customer") => Ok(()),
                    _ => Err("the user lacks the realm role `customer`".into()),
                }
            },
        );
    let validator = validator(issuer);
    let claims = |roles: Value, aud: Value| {
        json!({
            "exp": NOW + 300,
            "iat": NOW,
            "jti": "6f0f5c7e-1f6b-4b9a-9a7e-5c0f6d4c2b1a",
            "iss": ISS,
            "aud": aud,
            "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
            "typ": "Bearer",
            "azp": "shop-frontend",
            "session_state": "b0e3d0f2",
            "acr": "1",
            "allowed-origins": ["https://shop.example.com"],
            "realm_access": { "roles": roles },
            "resource_access": { "orders-api": { "roles": ["writer"] }, "account": { "roles": ["manage-account"] } },
            "scope": "openid profile email orders",
            "sid": "b0e3d0f2",
            "email_verified": true,
            "preferred_username": "jane",
        })
    };
    let header =
        json!({ "alg": "RS256", "typ": "JWT", "kid": "x5ek6BHKKPJ3sUz3ZJ7fv9zJ4ZgZB2dZ5QZ0rkBv8Xo" });
    let token = key.token_with_header(
        &header,
        &claims(json!(["offline_access", "customer"]), json!(["orders-api", "account"])),
    );
    let verified = validate::<KeycloakClaims>(&validator, &token).unwrap();
    assert_eq!(scopes(&verified), ["email", "openid", "orders", "profile"]);
    assert_eq!(verified.claims().realm_access.roles, ["offline_access", "customer"]);
    assert_eq!(verified.claims().resource_access["orders-api"].roles, ["writer"]);
    assert_eq!(verified.claims().preferred_username, "jane");

    let no_role =
        key.token_with_header(&header, &claims(json!(["offline_access"]), json!(["orders-api", "account"])));
    assert_refused(
        validate::<Value>(&validator, &no_role),
        Error::ClaimCheckFailed(Cow::Borrowed("the user lacks the realm role `customer`")),
        401,
        INVALID,
        &no_role,
    );
    // Without an audience mapper Keycloak's `aud` is just `account`.
    let default_aud = key.token_with_header(&header, &claims(json!(["customer"]), json!("account")));
    assert_refused(
        validate::<Value>(&validator, &default_aud),
        Error::WrongAudience,
        401,
        INVALID,
        &default_aud,
    );
}

// ---------------------------------------------------------------------------
// Amazon Cognito
// ---------------------------------------------------------------------------

const COGNITO_ISS: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
const COGNITO_CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";

/// Cognito access tokens have no `aud`: the app client is in `client_id`
/// and the kind of token in `token_use`. Waive the audience check and put
/// both in custom checks; ID tokens (`token_use: id`, `aud` = client) and
/// other app clients' tokens are then refused.
fn cognito_issuer(key: &SigningKey) -> Issuer {
    Issuer::new(COGNITO_ISS)
        .skip_audience_check()
        .algorithms([Algorithm::RS256])
        .keys(keys(key))
        .check(|claims| match claims.str("token_use").as_deref() {
            Some("access") => Ok(()),
            _ => Err("the token is not a Cognito access token (`token_use`)".into()),
        })
        .check(|claims| match claims.str("client_id").as_deref() {
            Some(COGNITO_CLIENT) => Ok(()),
            _ => Err("the token was issued to another app client".into()),
        })
}

fn cognito_access(client_id: &str) -> Value {
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admins"],
        "iss": COGNITO_ISS,
        "version": 2,
        "client_id": client_id,
        "origin_jti": "bbbbbbbb-cccc-dddd-eeee-ffffffffffff",
        "event_id": "cccccccc-dddd-eeee-ffff-000000000000",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin openid email orders/read",
        "auth_time": NOW - 100,
        "exp": NOW + 3500,
        "iat": NOW - 100,
        "jti": "dddddddd-eeee-ffff-0000-111111111111",
        "username": "jane",
    })
}

#[test]
fn cognito_access_token_without_aud() {
    let key = rs256("abcdefghijklmnopqrsexample=");
    let validator = validator(cognito_issuer(&key));
    let header = json!({ "kid": "abcdefghijklmnopqrsexample=", "alg": "RS256" });
    let token = key.token_with_header(&header, &cognito_access(COGNITO_CLIENT));
    let verified = validate::<Value>(&validator, &token).unwrap();
    assert_eq!(verified.client_id(), Some(COGNITO_CLIENT));
    assert!(verified.require(&ScopeRequirement::scope("orders/read")).is_ok());
    assert_eq!(verified.claims()["cognito:groups"], json!(["admins"]));

    let other_client = key.token_with_header(&header, &cognito_access("7abcdefother0client00000000"));
    assert_refused(
        validate::<Value>(&validator, &other_client),
        Error::ClaimCheckFailed(Cow::Borrowed("the token was issued to another app client")),
        401,
        INVALID,
        &other_client,
    );
    let id_token = key.token_with_header(
        &header,
        &json!({
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "aud": COGNITO_CLIENT,
            "email_verified": true,
            "token_use": "id",
            "auth_time": NOW - 100,
            "iss": COGNITO_ISS,
            "cognito:username": "jane",
            "exp": NOW + 3500,
            "iat": NOW - 100,
            "email": "jane@example.com",
        }),
    );
    assert_refused(
        validate::<Value>(&validator, &id_token),
        Error::ClaimCheckFailed(Cow::Borrowed("the token is not a Cognito access token (`token_use`)")),
        401,
        INVALID,
        &id_token,
    );
    // The waiver covers `aud` only: a mistyped one is still refused.
    let mut mistyped = cognito_access(COGNITO_CLIENT);
    mistyped["aud"] = json!(42);
    let mistyped = key.token_with_header(&header, &mistyped);
    assert!(matches!(validate::<Value>(&validator, &mistyped), Err(Error::InvalidClaim { .. })));
}
