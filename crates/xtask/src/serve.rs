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

/// Answers one request: GET streams the file, HEAD sends its headers only, other methods get 405.
fn handle(mut stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut request_line = String::new();
    BufReader::new(&stream).read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, "405 Method Not Allowed", "text/plain", b"only GET and HEAD");
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let found = percent_decode(path).and_then(|p| resolve(dir, &p)).and_then(|f| Some((std::fs::File::open(&f).ok()?, f)));
    let Some((mut file, path)) = found.filter(|(file, _)| file.metadata().is_ok_and(|m| m.is_file())) else {
        return respond(&mut stream, "404 Not Found", "text/plain", b"not found");
    };
    let length = file.metadata()?.len();
    write_head(&mut stream, "200 OK", mime(&path), length)?;
    if method == "GET" {
        std::io::copy(&mut file, &mut stream)?;
    }
    Ok(())
}

fn write_head(stream: &mut TcpStream, status: &str, mime: &str, length: u64) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {mime}\r\nContent-Length: {length}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
    )
}

fn respond(stream: &mut TcpStream, status: &str, mime: &str, body: &[u8]) -> std::io::Result<()> {
    write_head(stream, status, mime, body.len() as u64)?;
    stream.write_all(body)
}

/// A URL path with its `%XX` escapes decoded (`my%20file.png` → `my file.png`); `None` for a
/// malformed escape or bytes that are not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a decoded URL path into `dir`, refusing anything that climbs out of it (an escaped `..`
/// or `/` included: the check runs after decoding).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_paths_are_decoded_and_still_kept_inside_the_directory() {
        assert_eq!(percent_decode("/my%20file.png").as_deref(), Some("/my file.png"));
        assert_eq!(percent_decode("/fa%D8%B3.js").as_deref(), Some("/faس.js"));
        assert_eq!(percent_decode("/bad%2"), None);
        assert_eq!(percent_decode("/bad%zz"), None);
        let dir = Path::new("/srv/web");
        assert_eq!(resolve(dir, &percent_decode("/a%20b/c.js").expect("decodes")), Some(PathBuf::from("/srv/web/a b/c.js")));
        assert_eq!(resolve(dir, &percent_decode("/%2E%2E/secret").expect("decodes")), None, "an escaped .. climbs out");
        assert_eq!(resolve(dir, &percent_decode("/x/%2e%2e%2f%2e%2e/secret").expect("decodes")), None);
    }

    #[test]
    fn head_sends_headers_only_get_streams_the_file_and_other_methods_are_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the test's own server and files");
        std::fs::write(dir.join("a file.txt"), b"hello").expect("the test's own server and files");
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("the test's own server and files");
        let port = listener.local_addr().expect("the test's own server and files").port();
        let served = dir.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = handle(stream, &served);
            }
        });
        let ask = |request: &str| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the test's own server and files");
            stream.write_all(request.as_bytes()).expect("the test's own server and files");
            let mut answer = String::new();
            std::io::Read::read_to_string(&mut stream, &mut answer).expect("the test's own server and files");
            answer
        };
        let get = ask("GET /a%20file.txt HTTP/1.1\r\n\r\n");
        assert!(get.starts_with("HTTP/1.1 200") && get.contains("Content-Length: 5") && get.ends_with("hello"), "{get}");
        let head = ask("HEAD /a%20file.txt HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200") && head.contains("Content-Length: 5") && head.ends_with("\r\n\r\n"), "{head}");
        assert!(ask("POST /a%20file.txt HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(ask("GET /missing.txt HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(ask("GET /%2E%2E/etc/passwd HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
