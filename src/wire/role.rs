//! Permission roles on the wire: create and update bodies, the representation, the list page and its query.
//!
//! STUB (contract for the parallel work of issue 13): the names are final, the
//! contents are filled in by the wire work.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `PermissionRoleInput` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PermissionRoleInput {}

/// `PermissionRoleUpdate` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PermissionRoleUpdate {}

/// `PermissionRole` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PermissionRole {}

/// `PermissionRoleList` (stub).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PermissionRoleList {}

/// The query of the list (stub).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PermissionRoleQuery {}
