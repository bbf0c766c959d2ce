//! The integration tests of the core server: each module drives the real `baack` binary.

mod authz;
mod cli;
mod delivery;
mod documented;
mod durability;
mod hostile;
mod limits;
mod names;
mod neighbours;
mod oauth;
mod output;
mod profiles;
mod properties;
mod ratelimit;
mod readme;
mod roles;
mod scripts;
mod secrets;
mod seed001;
mod server;
mod slow;
mod status;
mod store;
mod support;
mod targets;
mod tokens;
