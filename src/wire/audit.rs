//! Audit events on the wire (API.md "Audit events", our addition): the representation,
//! the list page and its query; and the body of an OAuth secret rotation.

use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};

use super::common::{
    LIMIT_DOC, Loose, Params, ReferenceOut, is_absent, limit_param, next_page, number, param,
    query_param, string_param, urn_out,
};
use super::patterns;
use crate::clock::{format_baack, parse_timestamp};
use crate::error::{Error, Result};
use crate::model::{self, AUDIT_ACTIONS, paths};
use crate::service::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::store::{AuditQuery, Position};

/// Where audit events live.
pub const AUDIT: &str = "/n/v1/auditevent/";

/// Who acted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActorOut {
    /// The API client.
    #[schema(schema_with = super::common::reference_out)]
    pub client: ReferenceOut,
    /// The bearer token it presented; null for the embedded mode's root, which presents
    /// none.
    pub token: Option<ReferenceOut>,
    /// The OAuth client whose access token it presented, if one was.
    pub oauth_client: Option<String>,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TargetOut {
    /// `apiclient`, `apiclientbearertoken`, `permissionrole`, `oauthclient` or `audit`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A Baack object's URN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = urn_out, required = false)]
    pub urn: Option<String>,
    /// An OAuth client's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub id: Option<String>,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Its URN.
    #[schema(schema_with = urn_out)]
    pub urn: String,
    /// Its path.
    pub url: String,
    /// When it happened.
    #[schema(schema_with = timestamp_out)]
    pub timestamp: String,
    /// Who.
    pub actor: ActorOut,
    /// What.
    #[schema(schema_with = action_schema)]
    pub action: String,
    /// On what.
    pub target: TargetOut,
    /// `success`, or `denied` for a request refused for lack of permission.
    #[schema(schema_with = outcome_schema)]
    pub outcome: String,
    /// More, for a person; never a secret.
    pub detail: Option<String>,
}

fn timestamp_out() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(patterns::timestamp()))
        .into()
}

fn action_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(AUDIT_ACTIONS))
        .into()
}

fn outcome_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["success", "denied"]))
        .into()
}

impl From<&model::AuditEvent> for AuditEvent {
    fn from(e: &model::AuditEvent) -> Self {
        let oauth = e.target.kind == "oauthclient";
        AuditEvent {
            urn: e.urn.clone(),
            url: format!("{AUDIT}{}", e.urn),
            timestamp: format_baack(e.timestamp),
            actor: ActorOut {
                client: ReferenceOut::new(paths::CLIENT, &e.actor.client),
                token: e
                    .actor
                    .token
                    .as_deref()
                    .map(|t| ReferenceOut::new(paths::TOKEN, t)),
                oauth_client: e.actor.oauth_client.clone(),
            },
            action: e.action.clone(),
            target: TargetOut {
                kind: e.target.kind.clone(),
                urn: e.target.key.clone().filter(|_| !oauth),
                id: e.target.key.clone().filter(|_| oauth),
            },
            outcome: e.outcome.as_str().into(),
            detail: e.detail.clone(),
        }
    }
}

/// A page of audit events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventList {
    /// The page.
    pub audit_events: Vec<AuditEvent>,
    /// The URL of the next (older) page, null on the last.
    #[schema(schema_with = next_page, required = true)]
    pub next_page: Option<String>,
}

/// The query of `GET /n/v1/auditevent/`, checked.
#[derive(Debug, Clone, Default)]
pub struct AuditEventQuery {
    /// What the store is asked.
    pub q: AuditQuery,
    /// The parameters as sent (but the cursor), for the next page's URL.
    asked: Vec<(&'static str, String)>,
}

impl IntoParams for AuditEventQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let ts = || -> Schema { timestamp_in() };
        vec![
            query_param("since", "Only events at or after this time", ts()),
            query_param("until", "Only events at or before this time", ts()),
            query_param("action", "Only this action", action_schema()),
            query_param(
                "actor",
                "Only events by this API client (URN)",
                super::common::urn_in(),
            ),
            query_param(
                "target",
                "Only events about this object (URN, or OAuth client id)",
                string_param(),
            ),
            query_param("limit", LIMIT_DOC, limit_param()),
            query_param(
                "cursor",
                "Where the page starts, as given in nextPage",
                cursor(),
            ),
        ]
    }
}

fn timestamp_in() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(patterns::timestamp()))
        .into()
}

fn cursor() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^(?:[0-9]{1,20}[.][0-9]{1,20})?$"))
        .into()
}

impl TryFrom<&Params> for AuditEventQuery {
    type Error = Error;
    fn try_from(p: &Params) -> Result<Self> {
        let mut asked = Vec::new();
        let mut time = |name: &'static str| -> Result<Option<i64>> {
            let Some(v) = param(p, name) else {
                return Ok(None);
            };
            asked.push((name, v.to_string()));
            parse_timestamp(v).map(Some).ok_or_else(|| {
                Error::BadRequest(format!(
                    "query `{name}={v}` is not a timestamp like 2026-07-04T14:34:19.610"
                ))
            })
        };
        let since = time("since")?;
        let until = time("until")?;
        let action = param(p, "action").map(str::to_string);
        if let Some(a) = &action {
            if !AUDIT_ACTIONS.contains(&a.as_str()) {
                return Err(Error::BadRequest(format!(
                    "query `action={a}` is not an audit action; use one of {}",
                    AUDIT_ACTIONS.join(", ")
                )));
            }
            asked.push(("action", a.clone()));
        }
        let actor = match param(p, "actor") {
            None => None,
            Some(a) => {
                asked.push(("actor", a.to_string()));
                Some(crate::service::urn_param(a)?)
            }
        };
        let target = param(p, "target").map(|t| {
            asked.push(("target", t.to_string()));
            model::parse_urn(t).unwrap_or_else(|| t.to_ascii_lowercase())
        });
        let limit = number(p, "limit", DEFAULT_LIMIT, MAX_LIMIT, 1)?;
        let before = match param(p, "cursor") {
            None | Some("") => None,
            Some(c) => Some(Position::parse(c).ok_or_else(|| {
                Error::BadRequest(format!(
                    "cursor `{c}` is not one this server gave; use the nextPage URL as it is"
                ))
            })?),
        };
        Ok(AuditEventQuery {
            q: AuditQuery {
                since,
                until,
                action,
                actor,
                target,
                before,
                limit,
            },
            asked,
        })
    }
}

impl AuditEventList {
    /// The answer to `q` that found `events`, with `next` the position to go on from.
    pub fn new(events: &[model::AuditEvent], next: Option<Position>, q: &AuditEventQuery) -> Self {
        let next_page = next.map(|p| {
            let mut url = format!("{AUDIT}?limit={}&cursor={}", q.q.limit, p.to_cursor());
            for (k, v) in &q.asked {
                let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
                url.push_str(&format!("&{k}={v}"));
            }
            url
        });
        AuditEventList {
            audit_events: events.iter().map(AuditEvent::from).collect(),
            next_page,
        }
    }
}

// --- the rotations -----------------------------------------------------------------

/// A whole number of seconds; JSON's `234.0` is one too (JSON Schema's `integer`).
fn whole(v: &Loose<f64>, field: &str, default: i64) -> Result<i64> {
    match v {
        Loose::Absent => Ok(default),
        Loose::Got(n) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(*n as i64),
        _ => Err(Error::invalid(field, "must be a whole number of seconds")),
    }
}

/// The body of `POST /v3/oauth-clients/{id}/secret` (API.md "OAuth secret rotation").
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct OAuthSecretRotation {
    /// How long the previous secret keeps working, in seconds (default 0).
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 2592000)]
    #[serde(skip_serializing_if = "is_absent")]
    pub overlap_seconds: Loose<f64>,
}

impl OAuthSecretRotation {
    /// The overlap, in milliseconds.
    pub fn overlap(&self) -> Result<i64> {
        whole(&self.overlap_seconds, "overlapSeconds", 0).map(|s| s.saturating_mul(1000))
    }
}
