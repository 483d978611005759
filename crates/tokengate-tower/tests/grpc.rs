//! gRPC: the Tower layer in front of a real `tonic` server, called by a real
//! `tonic` client over HTTP/2 on loopback. Refusals arrive as gRPC statuses
//! (`UNAUTHENTICATED`) with the refusal's description and challenge, not as
//! an HTTP 401 the client cannot read; an accepted call reaches the service
//! with the verified token. Scopes are checked by the service itself, or by
//! a `ScopeLayer` rendering for gRPC (`PERMISSION_DENIED`, and `INTERNAL`
//! when no `TokenLayer` is in front).

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf as _, BufMut as _};
use common::*;
use http::uri::PathAndQuery;
use serde_json::json;
use tokengate_core::{StandardClaims, Verified};
use tokengate_tower::{GrpcRefusal, ScopeLayer, TokenLayer};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Status};

/// Messages as raw bytes: no protobuf, no code generation.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// `test.Echo/Say`: answers `hello <sub>` from the verified token.
#[derive(Clone)]
struct Echo;

impl tonic::server::NamedService for Echo {
    const NAME: &'static str = "test.Echo";
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let say = tower::service_fn(|request: tonic::Request<Vec<u8>>| async move {
                let verified = request
                    .extensions()
                    .get::<Verified<StandardClaims>>()
                    .ok_or_else(|| Status::internal("no token gate ran"))?;
                if !verified.scopes().contains("orders:read") {
                    return Err(Status::permission_denied("the token lacks the scope orders:read"));
                }
                let who = verified.subject().unwrap_or("nobody");
                Ok(tonic::Response::new(format!("hello {who}").into_bytes()))
            });
            Ok(tonic::server::Grpc::new(Raw).unary(say, request).await)
        })
    }
}

async fn say(channel: &tonic::transport::Channel, token: Option<&str>) -> Result<String, Status> {
    let mut client = tonic::client::Grpc::new(channel.clone());
    client.ready().await.map_err(|error| Status::unknown(error.to_string()))?;
    let mut request = tonic::Request::new(b"hi".to_vec());
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let response = client.unary(request, PathAndQuery::from_static("/test.Echo/Say"), Raw).await?;
    Ok(String::from_utf8(response.into_inner()).unwrap())
}

fn challenge(status: &Status) -> String {
    status.metadata().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// A channel to a tonic server on loopback serving `Echo` behind `layer`.
macro_rules! serve {
    ($layer:expr) => {{
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tonic::transport::Server::builder().layer($layer).add_service(Echo);
        tokio::spawn(server.serve_with_incoming(TcpIncoming::from(listener)));
        tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
    }};
}

#[tokio::test]
async fn a_tonic_client_reads_refusals_as_grpc_statuses() {
    let fx = Fixture::new();
    let channel = serve!(TokenLayer::new(fx.validator.clone()).render_with(GrpcRefusal));

    let good = fx.token(json!({ "scope": "orders:read" }));
    assert_eq!(say(&channel, Some(&good)).await.unwrap(), "hello alice");

    let missing = say(&channel, None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated, "{missing:?}");
    assert_eq!(challenge(&missing), r#"Bearer realm="tokengate""#);

    let expired = say(&channel, Some(&fx.expired())).await.unwrap_err();
    assert_eq!(expired.code(), Code::Unauthenticated, "{expired:?}");
    assert_eq!(expired.message(), "the token has expired");
    assert!(challenge(&expired).contains(r#"error="invalid_token""#), "{expired:?}");

    let forged = say(&channel, Some(&fx.forged())).await.unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated, "{forged:?}");

    let malformed = say(&channel, Some("not a token")).await.unwrap_err();
    assert_eq!(malformed.code(), Code::Unauthenticated, "{malformed:?}");
    assert!(challenge(&malformed).contains(r#"error="invalid_request""#), "{malformed:?}");

    // The service's own refusal, after the gate accepted the token.
    let unscoped = say(&channel, Some(&fx.token(json!({ "scope": "orders:write" })))).await.unwrap_err();
    assert_eq!(unscoped.code(), Code::PermissionDenied, "{unscoped:?}");
}

#[tokio::test]
async fn scope_checks_answer_grpc_statuses_too() {
    let fx = Fixture::new();
    let channel = serve!(
        tower::ServiceBuilder::new()
            .layer(TokenLayer::new(fx.validator.clone()).render_with(GrpcRefusal))
            .layer(ScopeLayer::all_of(["orders:write"]).render_with(GrpcRefusal))
    );
    let both = fx.token(json!({ "scope": "orders:read orders:write" }));
    assert_eq!(say(&channel, Some(&both)).await.unwrap(), "hello alice");

    let read_only = say(&channel, Some(&fx.token(json!({ "scope": "orders:read" })))).await.unwrap_err();
    assert_eq!(read_only.code(), Code::PermissionDenied, "{read_only:?}");
    assert!(challenge(&read_only).contains(r#"error="insufficient_scope""#), "{read_only:?}");
    assert!(challenge(&read_only).contains(r#"scope="orders:write""#), "{read_only:?}");

    let missing = say(&channel, None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated, "{missing:?}");
}

#[tokio::test]
async fn a_scope_check_without_a_token_layer_is_internal_never_a_pass() {
    let fx = Fixture::new();
    let channel = serve!(ScopeLayer::all_of(["orders:read"]).render_with(GrpcRefusal));
    let good = fx.token(json!({ "scope": "orders:read" }));
    let misconfigured = say(&channel, Some(&good)).await.unwrap_err();
    assert_eq!(misconfigured.code(), Code::Internal, "{misconfigured:?}");
    assert!(misconfigured.message().contains("no token gate ran on this request"), "{misconfigured:?}");
}
