//! The integration tests of the core server: each module drives the real `baack` binary.

mod oauth;
mod seed001;
mod status;
mod support;
