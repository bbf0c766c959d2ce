//! The two error shapes: Baack's `Status` and SailPoint's error, and the bodies of a SailPoint 401 and 429.
//!
//! STUB (contract for the parallel work of issue 13): the names are final, the
//! contents are filled in by the wire work.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `Status` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Status {}

/// `SailPointError` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SailPointError {}

/// `Message` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Message {}

/// `OAuthUnauthorized` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OAuthUnauthorized {}

/// `RateLimited` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RateLimited {}
