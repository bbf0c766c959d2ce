//! The wire: serde types for every request and response body of both APIs, named as the
//! OpenAPI document's schemas, which are derived from them. Requests convert into the
//! domain's inputs (`TryFrom`), checking every rule of API.md; domain objects render
//! into responses (`From`). One file per resource.

pub mod client;
pub mod common;
pub mod company;
pub mod error;
pub mod oauth;
pub mod patterns;
pub mod role;
pub mod token;
