//! The integration tests of the core server: each module drives the real `baack` binary.

mod cli;
mod oauth;
mod profiles;
mod seed001;
mod support;
