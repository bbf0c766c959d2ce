//! Bearer tokens on the wire: create and update bodies, the representation (obfuscated, or whole once on create), the list page and its query.
//!
//! STUB (contract for the parallel work of issue 13): the names are final, the
//! contents are filled in by the wire work.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `BearerTokenInput` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BearerTokenInput {}

/// `BearerTokenUpdate` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BearerTokenUpdate {}

/// `BearerToken` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BearerToken {}

/// `BearerTokenCreated` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BearerTokenCreated {}

/// `BearerTokenList` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BearerTokenList {}

/// The query of the list (stub).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BearerTokenQuery {}
