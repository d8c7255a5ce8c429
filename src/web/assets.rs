//! The browser's files (`static/`), compiled into the binary and served under
//! `/static/<name>.<hash>.<ext>`: the hash of the content is in the name, so a page always
//! loads the files of the binary that rendered it and browsers may cache them for good.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, AppResult};

struct Asset {
    /// `app.css`
    name: &'static str,
    /// `app.1a2b3c4d5e.css`
    hashed: String,
    content_type: &'static str,
    body: &'static [u8],
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let files: [(&str, &str, &[u8]); 7] = [
        ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
        ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../static/app.js")),
        ("board.js", "text/javascript; charset=utf-8", include_bytes!("../../static/board.js")),
        ("settings.js", "text/javascript; charset=utf-8", include_bytes!("../../static/settings.js")),
        ("icon-192.png", "image/png", include_bytes!("../../static/icon-192.png")),
        ("icon-512.png", "image/png", include_bytes!("../../static/icon-512.png")),
        // The OpenCode plugin, for the integrations page's download command.
        ("ocd.ts", "text/plain; charset=utf-8", include_bytes!("../../integrations/opencode/ocd.ts")),
    ];
    files
        .into_iter()
        .map(|(name, content_type, body)| {
            let digest = sha256_hex_bytes(body);
            let hashed = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{}.{ext}", &digest[..10]),
                None => format!("{name}.{}", &digest[..10]),
            };
            Asset { name, hashed, content_type, body }
        })
        .collect()
});

fn sha256_hex_bytes(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

/// The URL path of asset `name` (e.g. `app.css`) below the base path.
pub fn url(base_path: &str, name: &str) -> String {
    let hashed = ASSETS.iter().find(|a| a.name == name).map_or(name, |a| a.hashed.as_str());
    format!("{base_path}/static/{hashed}")
}

/// The URL paths of every asset a browser keeps for the app's shell (the service worker's
/// cache): the styles, scripts and icons.
pub fn shell(base_path: &str) -> Vec<String> {
    ASSETS.iter().filter(|a| a.name != "ocd.ts").map(|a| format!("{base_path}/static/{}", a.hashed)).collect()
}

/// A short hash of `names` (which hold the files' content hashes): changes with any file.
pub fn fingerprint(names: &[String]) -> String {
    sha256_hex_bytes(names.join("\n").as_bytes())[..12].to_string()
}

/// The bytes of every asset a page with `names` loads, for the page-weight budget.
pub fn weight(names: &[&str]) -> usize {
    ASSETS.iter().filter(|a| names.contains(&a.name)).map(|a| a.body.len()).sum()
}

/// `GET /static/{file}`: an asset by its hashed name (cached for a year), or by its plain
/// name (revalidated each time, for hand-written links).
pub async fn serve(Path(file): Path<String>) -> AppResult<Response> {
    let (asset, immutable) = match ASSETS.iter().find(|a| a.hashed == file) {
        Some(asset) => (asset, true),
        None => (ASSETS.iter().find(|a| a.name == file).ok_or_else(|| AppError::NotFound("No such file".into()))?, false),
    };
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, asset.content_type), (header::CACHE_CONTROL, cache)], asset.body).into_response())
}
