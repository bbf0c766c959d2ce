//! `baack`: administer API access (API clients, bearer tokens, permission roles and OAuth
//! clients) over a local JSON file store or a remote Baack-compatible API.
//!
//! - `client`: the API client, over HTTPS or in-process
//! - `error`: the error type and its kinds
//! - `clock`: injectable "now" and the wire's timestamp formats
//! - `secret`: bearer tokens, OAuth secrets and their digests
//! - `model`: domain types, body parsing with every rule, wire representations
//! - `store`: the JSON file store on disk
//! - `service`: operations (authorize, check, change the store)
//! - `server`: the axum router that speaks both APIs

pub mod client;
pub mod clock;
pub mod error;
pub mod model;
pub mod secret;
pub mod server;
pub mod service;
pub mod store;
pub mod wire;

pub use error::{Error, ErrorKind, Result};
