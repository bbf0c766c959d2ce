//! The wire: serde types for every request and response body of both APIs, named as the
//! OpenAPI document's schemas, which are derived from them. Requests convert into the
//! domain's inputs (`TryFrom`), checking every rule of API.md; domain objects render
//! into responses (`From`). One file per resource.

pub mod audit;
pub mod client;
pub mod common;
pub mod company;
pub mod error;
pub mod oauth;
pub mod patterns;
pub mod role;
pub mod token;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// A request body read as `T`: it must be a JSON object (serde's derive would also read
/// an array, field by field). Every field of `T` is lenient ([`common::Loose`]), so
/// nothing but the shape can fail here: the conversion into the domain names what is
/// wrong.
pub fn from_body<T: DeserializeOwned>(body: &Value) -> Result<T> {
    if !body.is_object() {
        return Err(Error::BadRequest("the body must be a JSON object".into()));
    }
    T::deserialize(body).map_err(|e| Error::BadRequest(format!("the body is not valid: {e}")))
}

/// Like [`from_body`], taking the body.
pub fn from_body_owned<T: DeserializeOwned>(body: Value) -> Result<T> {
    if !body.is_object() {
        return Err(Error::BadRequest("the body must be a JSON object".into()));
    }
    T::deserialize(body).map_err(|e| Error::BadRequest(format!("the body is not valid: {e}")))
}

#[cfg(test)]
mod tests;
