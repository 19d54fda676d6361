//! The OpenAPI document's modifiers: what the `#[utoipa::path]` annotations of
//! [`super::api`] cannot say themselves (the security scheme, the error codes with their
//! statuses, the error answers common to every operation, the binary upload body).

use super::error::ErrorCode;

/// The bearer-token security scheme.
pub(super) struct Security;

/// `POST /v1/plugins` takes raw bytes: a binary string, as `application/wasm` or
/// `application/octet-stream` (the server reads the bytes whatever the type says).
pub(super) struct BinaryUpload;

impl utoipa::Modify for BinaryUpload {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type,
            request_body::RequestBodyBuilder,
        };
        let Some(op) = openapi
            .paths
            .paths
            .get_mut("/v1/plugins")
            .and_then(|item| item.post.as_mut())
        else {
            return;
        };
        let bytes = || {
            ContentBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                        .min_length(Some(1)),
                ))
                .build()
        };
        op.request_body = Some(
            RequestBodyBuilder::new()
                .description(Some(
                    "The component's bytes (a WebAssembly component, at most `max_upload_bytes`)",
                ))
                .content("application/wasm", bytes())
                .content("application/octet-stream", bytes())
                .required(Some(utoipa::openapi::Required::True))
                .build(),
        );
    }
}

/// The error answers every operation can give, added where an annotation does not
/// already name them: 400 to anything with parameters or a body, 401/403/429/500/503 to
/// every operation that needs a token, 404 to routes with path parameters, 413/415 to
/// operations with a body. Each is an [`super::error::ApiError`].
pub(super) struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |what: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(what)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ApiError")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in &mut openapi.paths.paths {
            let templated = path.contains('{');
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = op.request_body.is_some();
                let params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut wanted: Vec<(&str, &str)> = Vec::new();
                if body || params || path == "/v1/stream" {
                    wanted.push((
                        "400",
                        "The request is malformed (`invalid-request`, `invalid-body`)",
                    ));
                }
                if secured {
                    wanted.extend([
                        ("401", "No valid API token (`unauthorized`)"),
                        ("403", "The token's role may not call this (`forbidden`)"),
                        (
                            "429",
                            "Too many authentication failures from this address (`rate-limited`)",
                        ),
                        ("500", "A bug or an I/O failure in the service (`internal`)"),
                        ("503", "Shutting down or the database does not answer"),
                    ]);
                }
                if templated {
                    wanted.push(("404", "No such resource (`not-found`)"));
                }
                if body {
                    wanted.extend([
                        ("413", "The body is over the size limit (`body-too-large`)"),
                        ("415", "Wrong Content-Type (`unsupported-media-type`)"),
                    ]);
                }
                for (code, what) in wanted {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| error(what));
                }
            }
        }
    }
}

/// The `ErrorCode` schema describes each code with its HTTP status and meaning.
pub(super) struct ErrorCodes;

impl utoipa::Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, schema::Schema};

        use crate::names::Named;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut("ErrorCode") {
            let lines: Vec<String> = ErrorCode::VALUES
                .iter()
                .map(|v| format!("- `{}` ({}): {}", v.name, v.value.status().as_u16(), v.help))
                .collect();
            o.description = Some(format!(
                "The machine-readable code of an error (`error`); it decides the HTTP status.\n\n{}",
                lines.join("\n")
            ));
        }
    }
}

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
