//! A small static file server for `web/`, on loopback only: `cargo xtask serve`, and the server the
//! browser tests and the benchmark start (`tests/browser/harness.mjs` runs `xtask serve --no-build
//! --port 0 --dir …` and reads the URL from its first line).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

/// Serves `dir` on 127.0.0.1:`port` (0: any free port) until interrupted. The first line printed
/// is `vae-explorer: <url>  …`.
pub fn serve(dir: &Path, port: u16) -> Result<()> {
    let listener =
        TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("port {port} is busy; try `cargo xtask serve --port 8080`"))?;
    let port = listener.local_addr()?.port();
    println!("vae-explorer: http://127.0.0.1:{port}/  (or open {} from disk)", dir.join("index.html").display());
    println!("press Ctrl-C to stop");
    for stream in listener.incoming().flatten() {
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            let _ = handle(stream, &dir);
        });
    }
    Ok(())
}

fn handle(mut stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut request_line = String::new();
    BufReader::new(&stream).read_line(&mut request_line)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let file = resolve(dir, path);
    let (status, body, mime) = match file.and_then(|f| std::fs::read(&f).ok().map(|b| (b, f))) {
        Some((body, f)) => ("200 OK", body, mime(&f)),
        None => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}

/// Maps a URL path into `dir`, refusing anything that climbs out of it.
fn resolve(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = Path::new(url_path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = dir.join(rel);
    Some(if full.is_dir() { full.join("index.html") } else { full })
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("woff2") => "font/woff2",
        Some("onnx") => "application/octet-stream",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
