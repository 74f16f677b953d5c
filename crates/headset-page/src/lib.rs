//! The live headset page that `epocd serve` hands to a browser at `/` on its own port, and the
//! rules for answering a plain (non-WebSocket) HTTP request there.
//!
//! The page is an ordinary local Cortex app: its script opens a WebSocket to the same port and
//! uses the Cortex API like any other client, so it shows exactly what apps see. Its files are
//! compiled in: the page works offline, and its Content-Security-Policy lets it load nothing
//! and talk to nothing but this daemon.
//!
//! Only GET and HEAD of a known file from a local `Host` get a file: a page on another site
//! that resolves its name to 127.0.0.1 (DNS rebinding) gets 421, not the page.

/// One file of the page.
#[derive(Debug)]
pub struct Asset {
    /// Its path on the server.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

/// Every file of the page.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/index.html"),
    },
    Asset {
        path: "/page.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/page.js"),
    },
    Asset {
        path: "/page.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/page.css"),
    },
    Asset {
        path: "/icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/icon.svg"),
    },
];

/// The file at `path` (a query string is ignored; `/index.html` is `/`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// An HTTP answer, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Its reason phrase.
    pub reason: &'static str,
    /// Headers besides `Content-Length` and `Connection`.
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for HEAD, but `Content-Length` still tells the file's size).
    pub body: Vec<u8>,
    /// The `Content-Length` to announce.
    pub length: usize,
}

impl Answer {
    /// The bytes to send (HTTP/1.1, the connection closed after it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (k, v) in &self.headers {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.length
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    fn text(status: u16, reason: &'static str, body: String, extra: Vec<(&'static str, String)>) -> Self {
        let mut headers = vec![("Content-Type", "text/plain; charset=utf-8".to_owned())];
        headers.extend(extra);
        headers.extend(common_headers());
        Answer {
            status,
            reason,
            headers,
            length: body.len(),
            body: body.into_bytes(),
        }
    }
}

/// Headers on every answer: nothing cached across versions, nothing sniffed, never framed,
/// no referrer leaves the machine.
fn common_headers() -> [(&'static str, String); 4] {
    [
        ("Cache-Control", "no-cache".to_owned()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("Referrer-Policy", "no-referrer".to_owned()),
        ("Cross-Origin-Resource-Policy", "same-origin".to_owned()),
    ]
}

/// The page's Content-Security-Policy: its own files, and a WebSocket to this daemon only.
pub fn content_security_policy(host: &str, tls: bool) -> String {
    let ws = if tls { "wss" } else { "ws" };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src {ws}://{host}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// What a plain HTTP request head is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// `GET`, `HEAD`, …
    pub method: &'a str,
    /// The request target (`/page.js?v=1`).
    pub target: &'a str,
    /// The `Host` header, if any.
    pub host: Option<&'a str>,
}

/// Read the request line and `Host` of a request head (None: not HTTP).
pub fn parse_head(head: &str) -> Option<RequestHead<'_>> {
    let mut lines = head.split("\r\n");
    let mut parts = lines.next()?.split(' ');
    let method = parts.next().filter(|m| !m.is_empty())?;
    let target = parts.next().filter(|t| t.starts_with('/'))?;
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    let host = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim());
    Some(RequestHead { method, target, host })
}

/// Whether a `Host` header names this machine (`localhost`, `127.0.0.1`, `[::1]`, any port).
pub fn is_local_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((name, port)) if port.is_empty() || is_port(port) => name,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "::1"
}

fn is_port(s: &str) -> bool {
    s.strip_prefix(':').unwrap_or(s).parse::<u16>().is_ok()
}

/// The answer to a plain HTTP request for the page, or None when the request is not for one
/// of its files (the caller answers that the Cortex API speaks WebSocket). `tls`: whether the
/// page is served over https (its WebSocket then is wss).
pub fn answer(head: &RequestHead<'_>, tls: bool) -> Option<Answer> {
    let asset = asset(head.target)?;
    let host = match head.host {
        Some(h) if is_local_host(h) => h,
        other => {
            return Some(Answer::text(
                421,
                "Misdirected Request",
                format!(
                    "epocd's headset page answers for this machine only (Host {:?}): open {}://localhost:<port>/, \
                     the address `epocd open` prints\n",
                    other.unwrap_or(""),
                    if tls { "https" } else { "http" }
                ),
                Vec::new(),
            ));
        }
    };
    let get = match head.method {
        "GET" => true,
        "HEAD" => false,
        other => {
            return Some(Answer::text(
                405,
                "Method Not Allowed",
                format!("epocd's headset page is read-only: {other} is not allowed, only GET and HEAD\n"),
                vec![("Allow", "GET, HEAD".to_owned())],
            ));
        }
    };
    let mut headers = vec![
        ("Content-Type", asset.content_type.to_owned()),
        ("Content-Security-Policy", content_security_policy(host, tls)),
        ("X-Frame-Options", "DENY".to_owned()),
    ];
    headers.extend(common_headers());
    Some(Answer {
        status: 200,
        reason: "OK",
        headers,
        body: if get { asset.body.to_vec() } else { Vec::new() },
        length: asset.body.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(raw: &str) -> Option<Answer> {
        answer(&parse_head(raw).expect("a request head"), true)
    }

    #[test]
    fn the_page_and_its_files_are_served_to_local_hosts() {
        for host in [
            "localhost:6868",
            "127.0.0.1:6868",
            "[::1]:6868",
            "LOCALHOST",
            "127.0.0.1",
        ] {
            let a = ask(&format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")).expect("the page");
            assert_eq!(a.status, 200, "{host}");
            assert!(String::from_utf8_lossy(&a.body).contains("<!doctype html>"));
            let csp = a
                .headers
                .iter()
                .find(|(k, _)| *k == "Content-Security-Policy")
                .unwrap();
            assert!(csp.1.contains(&format!("connect-src wss://{host};")), "{csp:?}");
        }
        for path in ["/page.js", "/page.css?v=2", "/icon.svg", "/index.html"] {
            let a = ask(&format!("GET {path} HTTP/1.1\r\nHost: localhost:6868\r\n\r\n")).unwrap();
            assert_eq!(a.status, 200, "{path}");
            assert!(!a.body.is_empty());
        }
        let head = ask("HEAD /page.js HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        assert!(head.body.is_empty() && head.length == asset("/page.js").unwrap().body.len());
        let bytes = head.to_bytes();
        assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(String::from_utf8_lossy(&bytes).contains("X-Content-Type-Options: nosniff\r\n"));
    }

    #[test]
    fn other_hosts_methods_and_paths_are_not_given_the_page() {
        // DNS rebinding: another name that resolves to this machine.
        for host in [
            "evil.example:6868",
            "localhost.evil.example",
            "127.0.0.1:x",
            "",
            "[::2]:6868",
        ] {
            let a = ask(&format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")).unwrap();
            assert_eq!(a.status, 421, "{host:?}");
        }
        assert_eq!(ask("GET / HTTP/1.1\r\n\r\n").unwrap().status, 421, "no Host");
        let post = ask("POST / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        assert_eq!(post.status, 405);
        assert!(post.headers.contains(&("Allow", "GET, HEAD".to_owned())));
        assert!(ask("GET /cortex HTTP/1.1\r\nHost: localhost\r\n\r\n").is_none());
        assert!(ask("GET /../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n").is_none());
        assert!(parse_head("garbage").is_none());
        assert!(parse_head("GET relative HTTP/1.1\r\n\r\n").is_none());
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // The files name no other origin: no CDN, no font service, no analytics.
        for a in ASSETS {
            let text = String::from_utf8_lossy(a.body);
            for needle in ["http://", "https://", "//cdn", "@import"] {
                let hits: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
                let allowed = |l: &&str| l.contains("http://www.w3.org/2000/svg");
                assert!(
                    hits.iter().all(allowed),
                    "{} names another origin: {hits:?}",
                    a.path
                );
            }
        }
    }
}
