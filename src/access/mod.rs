//! Access as code: a manifest of the clients, roles, OAuth clients and token policies
//! wanted (`manifest`), the plan that makes what exists so (`plan`), carrying it out
//! (`apply`), what this manifest owns (`state`), and a manifest of what exists
//! (`export`). The library never prints: progress and results reach the caller as values
//! and callbacks.

pub mod apply;
pub mod export;
pub mod manifest;
pub mod plan;
pub mod state;
