//! The company and the client context of the Baack API.
//!
//! STUB (contract for the parallel work of issue 13): the names are final, the
//! contents are filled in by the wire work.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `Company` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Company {}

/// `CompanyList` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CompanyList {}

/// `ClientContext` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ClientContext {}
