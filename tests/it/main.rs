//! The integration tests of the core server: each module drives the real `baack` binary.

mod seed001;
mod support;
