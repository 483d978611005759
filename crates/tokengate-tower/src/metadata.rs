//! [`MetadataService`]: serves the RFC 9728 protected-resource metadata document.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response, StatusCode};
use tokengate_core::metadata::ResourceMetadata;
use tower_service::Service;

/// A Tower [`Service`] answering `GET` (and `HEAD`) with the document — 200,
/// `application/json` — and any other method with 405. Mount it, unprotected,
/// at each of [`ResourceMetadata::paths`]:
///
/// ```
/// use axum::Router;
/// use tokengate_core::metadata::ResourceMetadata;
/// use tokengate_tower::MetadataService;
/// # fn demo(validator: tokengate_core::Validator, router: Router) -> Router {
/// let metadata = ResourceMetadata::new("https://api.example.com", &validator).scopes_supported(["read"]);
/// metadata.paths().iter().fold(router, |router, path| {
///     router.route_service(path, MetadataService::new(metadata.clone()))
/// })
/// # }
/// ```
///
/// `ResBody` is the response body type (`String` by default; any type that
/// can be made from a `String`).
#[derive(Debug)]
pub struct MetadataService<ResBody = String> {
    metadata: Arc<ResourceMetadata>,
    _body: PhantomData<fn() -> ResBody>,
}

impl MetadataService {
    /// Serves `metadata`.
    pub fn new(metadata: ResourceMetadata) -> Self {
        MetadataService { metadata: Arc::new(metadata), _body: PhantomData }
    }
}

impl<ResBody> MetadataService<ResBody> {
    /// The same service, answering with another body type.
    pub fn with_body<Other>(self) -> MetadataService<Other> {
        MetadataService { metadata: self.metadata, _body: PhantomData }
    }
}

impl<ResBody> Clone for MetadataService<ResBody> {
    fn clone(&self) -> Self {
        MetadataService { metadata: self.metadata.clone(), _body: PhantomData }
    }
}

impl<B, ResBody: From<String>> Service<Request<B>> for MetadataService<ResBody> {
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<ResBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if matches!(*request.method(), Method::GET | Method::HEAD) {
            return ready(Ok(self.metadata.response()));
        }
        let mut refused = Response::new(ResBody::from(String::new()));
        *refused.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        refused.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
        ready(Ok(refused))
    }
}
