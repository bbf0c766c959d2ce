//! What both APIs' bodies share: the lenient field wrapper of request bodies, references
//! to other objects (in and out), and the schema pieces the resource files build on.

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, schema::Ref};
use utoipa::{PartialSchema, ToSchema};

use super::patterns;

/// A field of a request body as the server reads it: absent (or null, which means the
/// same), a value of the expected type, or a value of another type, kept so that the
/// conversion into the domain can name it in its message. Deserialising one never fails:
/// which rule a wrong field breaks, and in which order the rules are checked, is for the
/// conversion to say (the texts of API.md), not serde.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Loose<T> {
    /// Absent or null.
    #[default]
    Absent,
    /// A value of the expected type.
    Got(T),
    /// A value of another type, as sent.
    Wrong(Value),
}

impl<T> Loose<T> {
    /// The value, if it has the expected type.
    pub fn got(&self) -> Option<&T> {
        match self {
            Loose::Got(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the field was sent with a value (of any type).
    pub fn is_present(&self) -> bool {
        !matches!(self, Loose::Absent)
    }
}

impl<T> From<Option<T>> for Loose<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Loose::Absent, Loose::Got)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(Loose::Absent);
        }
        Ok(match T::deserialize(&v) {
            Ok(t) => Loose::Got(t),
            Err(_) => Loose::Wrong(v),
        })
    }
}

/// A request's field is sent as its value; an absent one is left out (the CLI builds its
/// bodies from these types).
impl<T: Serialize> Serialize for Loose<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Loose::Absent => s.serialize_none(),
            Loose::Got(t) => t.serialize(s),
            Loose::Wrong(v) => v.serialize(s),
        }
    }
}

/// A reference to another object in a request body: `{"urn": …}`, or `{"Urn": …}` when
/// `urn` is absent or null (seed 001 spells it so); anything else in it (a `url`) is
/// ignored. Only a JSON object reads as one: serde's derive would also take an array.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reference {
    /// `urn`.
    #[serde(skip_serializing_if = "is_absent")]
    pub urn: Loose<String>,
    /// `Urn`, read when `urn` is absent or null.
    #[serde(rename = "Urn", skip_serializing_if = "is_absent")]
    pub urn_upper: Loose<String>,
}

impl Reference {
    /// A reference to `urn`.
    pub fn to(urn: impl Into<String>) -> Self {
        Reference {
            urn: Loose::Got(urn.into()),
            urn_upper: Loose::Absent,
        }
    }
}

pub(crate) fn is_absent<T>(v: &Loose<T>) -> bool {
    matches!(v, Loose::Absent)
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Reference;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object like {\"urn\": \"…\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Reference, A::Error> {
                let mut r = Reference::default();
                // As in a JSON object read whole, a repeated key's last value wins.
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "urn" => r.urn = m.next_value()?,
                        "Urn" => r.urn_upper = m.next_value()?,
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
}

/// `{"urn": …}` or `{"Urn": …}` (see [`Reference`]); `url` is ignored.
impl PartialSchema for Reference {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .schema_type(Type::Object)
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::AnyValue)
                    .required("urn")
                    .property("urn", urn_in()),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(SchemaType::AnyValue)
                    .required("Urn")
                    .property("urn", ObjectBuilder::new().schema_type(Type::Null))
                    .property("Urn", urn_in()),
            )
            .into()
    }
}

impl ToSchema for Reference {}

/// A reference in a response: the object's URN and the path it is read at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReferenceOut {
    /// The URN.
    #[schema(schema_with = urn_out)]
    pub urn: String,
    /// The path of the object.
    pub url: String,
}

impl ReferenceOut {
    /// The reference to `urn`, read under `prefix`.
    pub fn new(prefix: &str, urn: &str) -> Self {
        ReferenceOut {
            urn: urn.to_string(),
            url: format!("{prefix}{urn}"),
        }
    }
}

/// A [`ReferenceOut`], inline where it is used.
pub(crate) fn reference_out() -> RefOr<Schema> {
    ReferenceOut::schema()
}

/// A list of [`ReferenceOut`].
pub(crate) fn references_out() -> Schema {
    array(ReferenceOut::schema()).into()
}

/// A JSON `null`, always: fields the server always sends as null (`nextPage` of the
/// company list, an OAuth client's `metadata`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Null;

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

/// Never a component of its own: `{"type": "null"}` where it is used.
impl ToSchema for Null {}

// --- schema pieces ---------------------------------------------------------------------

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A URN as a request may spell it.
pub(crate) fn urn_in() -> Schema {
    string()
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .pattern(Some(patterns::urn()))
        .into()
}

/// A URN as the server writes it.
pub(crate) fn urn_out() -> Schema {
    string()
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .pattern(Some(patterns::urn_out()))
        .into()
}

/// A `clientID` or role name.
pub(crate) fn name() -> Schema {
    string()
        .min_length(Some(1))
        .max_length(Some(128))
        .pattern(Some(patterns::printable()))
        .into()
}

/// One of `values`.
pub(crate) fn one_of_strings(values: &[&str]) -> ObjectBuilder {
    string().enum_values(Some(values.iter().copied()))
}

/// A list of `items`.
pub(crate) fn array(items: impl Into<RefOr<Schema>>) -> ArrayBuilder {
    ArrayBuilder::new().items(items.into())
}

/// A list of `items`, or null.
pub(crate) fn nullable_array(items: impl Into<RefOr<Schema>>) -> Schema {
    ArrayBuilder::new()
        .schema_type(
            [Type::Array, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .items(items.into())
        .into()
}

/// `nextPage` of a paged list: the URL of the next page, or null.
pub(crate) fn next_page() -> Schema {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .into()
}

/// A reference to the named component schema.
pub(crate) fn component(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// A list of references in a request: `[Reference]` or null.
pub(crate) fn references_in() -> Schema {
    nullable_array(component("Reference"))
}

/// A list of permission labels in a response.
pub(crate) fn permissions_out() -> Schema {
    array(one_of_strings(&crate::model::Permission::ALL)).into()
}

/// A list of permission labels in a request, or null.
pub(crate) fn permissions_in() -> Schema {
    nullable_array(one_of_strings(&crate::model::Permission::ALL))
}

/// A scope.
pub(crate) fn scope() -> Schema {
    one_of_strings(&crate::model::Scope::ALL).into()
}

// --- reading fields --------------------------------------------------------------------

use crate::error::{Error, Result};
use crate::service::PageQuery;

impl Loose<String> {
    /// A required string field: absent is [`Error::MissingField`], another type is
    /// "must be a string".
    pub(crate) fn required_str(&self, name: &str) -> Result<&str> {
        match self {
            Loose::Absent => Err(Error::MissingField(name.into())),
            Loose::Got(s) => Ok(s),
            Loose::Wrong(_) => Err(Error::invalid(name, "must be a string")),
        }
    }
}

impl Loose<Reference> {
    /// A required reference, as its normalised URN.
    pub(crate) fn required_ref(&self, name: &str) -> Result<String> {
        match self {
            Loose::Absent => Err(Error::MissingField(name.into())),
            r => r.urn(name),
        }
    }

    /// The normalised URN of a reference sent as `name` (a list's item too: a null item
    /// is no object either).
    pub(crate) fn urn(&self, name: &str) -> Result<String> {
        let Loose::Got(r) = self else {
            return Err(Error::invalid(
                name,
                "must be an object like {\"urn\": \"…\"}",
            ));
        };
        let urn = if r.urn.is_present() {
            &r.urn
        } else {
            &r.urn_upper
        };
        let s = match urn {
            Loose::Absent => return Err(Error::MissingField(format!("{name}.urn"))),
            Loose::Wrong(_) => {
                return Err(Error::invalid(format!("{name}.urn"), "must be a string"));
            }
            Loose::Got(s) => s,
        };
        crate::model::parse_urn(s).ok_or_else(|| {
            Error::invalid(
                format!("{name}.urn"),
                format!("`{s}` is not a URN (a hyphenated UUID)"),
            )
        })
    }
}

/// An optional list of references: absent is `None`, a repeated reference counts once
/// (the first is kept).
pub(crate) fn optional_refs(
    v: &Loose<Vec<Loose<Reference>>>,
    name: &str,
) -> Result<Option<Vec<String>>> {
    let list = match v {
        Loose::Absent => return Ok(None),
        Loose::Wrong(_) => return Err(Error::invalid(name, "must be a list of references")),
        Loose::Got(list) => list,
    };
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let urn = item.urn(name)?;
        if !out.contains(&urn) {
            out.push(urn);
        }
    }
    Ok(Some(out))
}

// --- reading queries -------------------------------------------------------------------

/// A query string as sent: every `name=value` pair, in order, repeats included.
pub type Params = [(String, String)];

/// The first value of `name` (a repeated parameter's first value counts).
pub(crate) fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A whole number from `min` to `max`, `default` when absent.
pub(crate) fn number(
    q: &Params,
    name: &str,
    default: usize,
    max: usize,
    min: usize,
) -> Result<usize> {
    match param(q, name) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Error::BadRequest(format!(
                "query `{name}={v}` must be a whole number from {min} to {max}"
            ))),
        },
    }
}

/// The `limit` and `cursor` of a Baack list, checked.
pub(crate) fn page(q: &Params) -> Result<(usize, Option<String>)> {
    use crate::service::{DEFAULT_LIMIT, MAX_LIMIT};
    let limit = number(q, "limit", DEFAULT_LIMIT, MAX_LIMIT, 1)?;
    // The cursor is the URN of the last item of the page before: opaque to clients, and
    // a shape the OpenAPI document can state exactly.
    let cursor = match param(q, "cursor") {
        None | Some("") => None,
        Some(c) => Some(crate::model::parse_urn(c).ok_or_else(|| {
            Error::BadRequest(format!(
                "cursor `{c}` is not one this server gave; use the nextPage URL as it is"
            ))
        })?),
    };
    Ok((limit, cursor))
}

/// A query parameter, optional, as the document states it. (utoipa's `IntoParams`
/// derive drops a field's description when its schema comes from a function, which the
/// patterns need: the query types spell their parameters with this instead.)
pub(crate) fn query_param(
    name: &str,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::Required;
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A string parameter.
pub(crate) fn string_param() -> Schema {
    string().into()
}

/// The descriptions of the paging parameters.
pub(crate) const LIMIT_DOC: &str = "Items per page; over the maximum is 400, not obeyed";
pub(crate) const CURSOR_DOC: &str = "Where the page starts, as given in nextPage";

/// `limit` of a Baack list.
pub(crate) fn limit_param() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(crate::service::MAX_LIMIT as u64))
        .default(Some(crate::service::DEFAULT_LIMIT.into()))
        .into()
}

/// `cursor` of a Baack list.
pub(crate) fn cursor_param() -> Schema {
    string().pattern(Some(patterns::cursor())).into()
}

/// `nextPage`: the URL of the page after `after`, if there is one, with the filters
/// `extra` that the page was asked with.
pub(crate) fn next_page_url(
    prefix: &str,
    next: Option<String>,
    limit: usize,
    extra: &[(&str, &str)],
) -> Option<String> {
    next.map(|after| {
        let mut url = format!("{prefix}?limit={limit}&cursor={after}");
        for (k, v) in extra {
            let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
            url.push_str(&format!("&{k}={v}"));
        }
        url
    })
}

/// The most seconds a last-use filter may name: 100 years.
pub(crate) const MAX_FILTER_SECONDS: usize = 3_153_600_000;

/// The last-use filters of the token and client lists (API.md "Last use"), in seconds
/// as sent.
#[derive(Debug, Clone, Default)]
pub struct UseFilter {
    /// `unusedFor`: only what has not been used for this long.
    pub unused_for: Option<usize>,
    /// `usedWithin`: only what was used within this long.
    pub used_within: Option<usize>,
}

impl UseFilter {
    pub(crate) fn parse(q: &Params) -> Result<UseFilter> {
        let read = |name: &str| -> Result<Option<usize>> {
            match param(q, name) {
                None => Ok(None),
                Some(_) => number(q, name, 0, MAX_FILTER_SECONDS, 0).map(Some),
            }
        };
        Ok(UseFilter {
            unused_for: read("unusedFor")?,
            used_within: read("usedWithin")?,
        })
    }

    /// The query parameters, for a next page's URL.
    pub(crate) fn extra(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(s) = self.unused_for {
            v.push(("unusedFor", s.to_string()));
        }
        if let Some(s) = self.used_within {
            v.push(("usedWithin", s.to_string()));
        }
        v
    }

    /// The document's parameters.
    pub(crate) fn params() -> Vec<utoipa::openapi::path::Parameter> {
        let seconds = || -> Schema {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(MAX_FILTER_SECONDS as u64))
                .into()
        };
        vec![
            query_param(
                "unusedFor",
                "Only those not used for this many seconds (never used: since made)",
                seconds(),
            ),
            query_param(
                "usedWithin",
                "Only those used within this many seconds",
                seconds(),
            ),
        ]
    }

    /// Into the service's page query, beside `after` and `limit`.
    pub(crate) fn page(&self, after: Option<String>, limit: usize) -> PageQuery {
        let ms = |s: usize| (s as i64).saturating_mul(1000);
        PageQuery {
            after,
            limit,
            unused_for: self.unused_for.map(ms),
            used_within: self.used_within.map(ms),
        }
    }
}

/// A `lastUsed` in a Baack response: a timestamp, or null until used.
pub(crate) fn last_used_out() -> Schema {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .pattern(Some(patterns::timestamp()))
        .into()
}
