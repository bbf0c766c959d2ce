//! What both APIs' bodies share: references to other objects, in and out.
//!
//! STUB (contract for the parallel work of issue 13): the names are final, the
//! contents are filled in by the wire work.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `Reference` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Reference {}

/// `ReferenceOut` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ReferenceOut {}
