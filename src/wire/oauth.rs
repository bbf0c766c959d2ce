//! OAuth clients on the wire (SailPoint's shape): the create body, the representation (with the secret once on create), the list and its query, and JSON Patch.
//!
//! STUB (contract for the parallel work of issue 13): the names are final, the
//! contents are filled in by the wire work.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `OAuthClientInput` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OAuthClientInput {}

/// `OAuthClient` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OAuthClient {}

/// `OAuthClientCreated` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OAuthClientCreated {}

/// `OAuthClientList` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OAuthClientList {}

/// `JsonPatch` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct JsonPatch {}

/// The query of the list (stub).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OAuthClientQuery {}
