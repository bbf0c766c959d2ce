//! The two error shapes: Baack's `Status` and SailPoint's error, and the bodies of a
//! SailPoint 401 and 429.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Baack's status body: of every error, and of a successful delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The HTTP status.
    #[schema(schema_with = integer)]
    pub http_code: u16,
    /// What happened, as a code (`NOT_FOUND`, `DELETE_SUCCESS`, …).
    pub api_code: String,
    /// What happened, in words (the URN of a deleted object).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = string, required = false)]
    pub detail: Option<String>,
    /// On a server fault: the id the server log files its cause under.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = tracking_id, required = false)]
    pub tracking_id: Option<String>,
}

fn integer() -> Schema {
    ObjectBuilder::new().schema_type(Type::Integer).into()
}
fn string() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).into()
}
fn tracking_id() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{32}$"))
        .into()
}

/// One message of a SailPoint error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Always `en-US`.
    pub locale: String,
    /// Always `DEFAULT`.
    pub locale_origin: String,
    /// The text.
    pub text: String,
}

impl Message {
    /// `text`, in the default locale.
    pub fn new(text: &str) -> Self {
        Message {
            locale: "en-US".into(),
            locale_origin: "DEFAULT".into(),
            text: text.to_string(),
        }
    }
}

/// SailPoint's error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SailPointError {
    /// The kind of error (`400.1 Bad Request Content`, …).
    pub detail_code: String,
    /// The id the server log files the error under.
    #[schema(schema_with = tracking_id)]
    pub tracking_id: String,
    /// What the kind means.
    pub messages: Vec<Message>,
    /// What was wrong, one message each.
    pub causes: Vec<Message>,
}

/// The body of a SailPoint 401.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OAuthUnauthorized {
    /// Why the credentials were refused.
    pub error: String,
}

/// The body of a SailPoint 429.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RateLimited {
    /// Always ` Rate Limit Exceeded `.
    pub message: String,
}
