//! The handlers' `Path` and `Query` extractors: axum's, with every rejection answered in
//! the API's own error shape (Baack's `BAD_REQUEST` under `/n/`, SailPoint's `400.1`
//! elsewhere) rather than axum's plain-text body.

use axum::extract::FromRequestParts;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::errors::{Api, ApiError};
use crate::error::Error;

/// Path parameters, as [`axum::extract::Path`].
#[derive(Debug)]
pub struct Path<T>(pub T);

/// A query string, as [`axum::extract::Query`].
#[derive(Debug)]
pub struct Query<T>(pub T);

/// A rejection of the request's own making is a 400; one of the code's (a route whose
/// parameters do not fit the handler) stays a 500.
fn rejected(parts: &Parts, client_fault: bool, what: String) -> ApiError {
    let err = if client_fault {
        Error::BadRequest(what)
    } else {
        Error::Internal(what)
    };
    ApiError::new(Api::of_path(parts.uri.path()), err)
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rejection) => {
                let what = match &rejection {
                    PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
                        axum::extract::path::ErrorKind::InvalidUtf8InPathParam { key } => {
                            format!(
                                "the path's `{key}` is not UTF-8 once percent-decoded; send it as percent-encoded UTF-8"
                            )
                        }
                        _ => format!("the path is not valid: {}", rejection.body_text()),
                    },
                    _ => format!("the path is not valid: {}", rejection.body_text()),
                };
                Err(rejected(parts, rejection.status().is_client_error(), what))
            }
        }
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rejection) => {
                let what = match &rejection {
                    QueryRejection::FailedToDeserializeQueryString(e) => {
                        format!("the query string is not valid: {e}")
                    }
                    _ => format!("the query string is not valid: {}", rejection.body_text()),
                };
                Err(rejected(parts, rejection.status().is_client_error(), what))
            }
        }
    }
}
