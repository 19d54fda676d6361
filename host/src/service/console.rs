//! The web console (`web/`, built by `cargo xtask web`), embedded in the binary at build
//! time and served at `/` from the same origin as the API; and the security headers every
//! response carries (a strict Content-Security-Policy: no inline script, nothing from
//! another origin).

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::error::ApiError;

/// `web/dist` (or, in a checkout where the console was not built, a page saying how to
/// build it): see `host/build.rs`.
#[derive(rust_embed::Embed)]
#[folder = "$STRATBOX_CONSOLE_DIR"]
struct Assets;

/// The console's policy: its own scripts, styles and API only; no inline script, no
/// framing, no plugins, no forms to elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn serve(path: &str, immutable: bool) -> Response {
    let Some(file) = Assets::get(path) else {
        return ApiError::not_found(format!("no console file `{path}`")).into_response();
    };
    let mime = file.metadata.mimetype().to_string();
    let cache = if immutable {
        // Vite puts a content hash in every asset's name.
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, cache.to_string()),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

/// `GET /`: the console's page (it routes by the URL's fragment, `/#/overview`).
pub async fn index() -> Response {
    serve("index.html", false)
}

/// `GET /assets/{*path}`: the console's scripts, styles and images.
pub async fn asset(Path(path): Path<String>) -> Response {
    serve(&format!("assets/{path}"), true)
}

/// Adds the security headers to a response (all of them, API answers included: they
/// cost nothing there and keep a JSON error from being framed or sniffed).
pub async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_page_is_embedded() {
        let page = Assets::get("index.html").expect("an index.html (built or the placeholder)");
        let text = std::str::from_utf8(&page.data).unwrap();
        assert!(text.contains("<html"), "{text}");
        // The policy allows no inline script: the page must not have one.
        for (i, _) in text.match_indices("<script") {
            let tag = &text[i..text[i..].find('>').map_or(text.len(), |e| i + e)];
            assert!(
                tag.contains(" src="),
                "inline script in the console page: {tag}"
            );
        }
        assert!(!text.contains("<style"), "inline style element");
    }
}
