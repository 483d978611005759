//! Serving the RFC 9728 protected-resource metadata document.

use actix_web::HttpResponse;
use actix_web::web::{self, ServiceConfig};
use tokengate_core::metadata::ResourceMetadata;

use crate::render::from_http;

/// Registers `GET` routes answering with `metadata` — 200,
/// `application/json` — at each of [`ResourceMetadata::paths`], unprotected.
///
/// ```
/// use actix_web::App;
/// use tokengate_core::metadata::ResourceMetadata;
/// # fn demo(validator: tokengate_core::Validator) {
/// let metadata = ResourceMetadata::new("https://api.example.com", &validator).scopes_supported(["read"]);
/// let app = App::new().configure(tokengate_actix::resource_metadata(metadata));
/// # let _ = app;
/// # }
/// ```
pub fn resource_metadata(metadata: ResourceMetadata) -> impl Fn(&mut ServiceConfig) + Clone {
    move |config: &mut ServiceConfig| {
        for path in metadata.paths() {
            let metadata = metadata.clone();
            let answer = move || {
                let response: HttpResponse = from_http(metadata.response());
                async move { response }
            };
            config.route(&path, web::get().to(answer));
        }
    }
}
