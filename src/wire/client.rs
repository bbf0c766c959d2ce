//! API clients on the wire: create and update bodies, the representation, the list page and its query.
//!
//! STUB (contract for the parallel work of issue 13): the names are final, the
//! contents are filled in by the wire work.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `ApiClientInput` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ApiClientInput {}

/// `ApiClientUpdate` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ApiClientUpdate {}

/// `ApiClient` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ApiClient {}

/// `ApiClientList` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ApiClientList {}

/// The query of the list (stub).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiClientQuery {}
