//! `baack`: administer API access (API clients, bearer tokens, permission roles and OAuth
//! clients) over a local JSON file store or a remote Baack-compatible API.
//!
//! A request crosses the layers in this order (the binary's `cli` is above them all):
//! - `client`: the API client, over HTTPS or in-process
//! - `server`: the axum router that speaks both APIs; its handlers extract, call one
//!   service operation, and render (and its OpenAPI document is derived from them)
//! - `wire`: serde types of every body of both APIs; requests become domain inputs
//! - `service`: operations on typed inputs (authenticate, authorize once per operation,
//!   check, change the store)
//! - `model`: the domain types and their rules
//! - `store`: the JSON file store on disk
//!
//! and beside them `error` (the error type and its kinds), `clock` (injectable "now" and
//! the wire's timestamp formats), `secret` (bearer tokens, OAuth secrets, digests), `jwt`
//! (OAuth access tokens and the store's signing keys) and `usage` (last use and refused requests, noted in memory and flushed off the request
//! path).

pub mod access;
pub mod client;
pub mod clock;
pub mod error;
pub mod jwt;
pub mod model;
pub mod secret;
pub mod server;
pub mod service;
pub mod store;
pub mod usage;
pub mod wire;

pub use error::{Error, ErrorKind, Result};
