//! A loopback portal server for tests, the demo and the benchmark: HTTP/1.1 by hand over
//! `tokio::net`, one request per connection (`Connection: close`) unless started with
//! [`PortalServer::start_keep_alive`], routes set and changed while it runs, and a log of every
//! request in arrival order (recorded before it is answered).
//!
//! Besides ordinary answers it can misbehave the way portals do: hang without answering
//! ([`Body::Hang`]) or stream a body that never ends ([`Body::Endless`]); both give up after
//! [`GIVE_UP`] so that nothing runs forever.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a hanging or endless answer goes on at most.
pub const GIVE_UP: Duration = Duration::from_secs(30);
/// Request heads larger than this are refused.
const MAX_HEAD: usize = 64 * 1024;

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running server; clones share routes and log.
#[derive(Clone)]
pub struct PortalServer {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Handler>>>,
    log: Arc<Mutex<Vec<Request>>>,
    /// Whether a connection stays open for the client's next request, as most portals' servers do.
    keep_alive: bool,
    /// Connections accepted so far.
    connections: Arc<AtomicUsize>,
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, `HEAD`, …
    pub method: String,
    /// Path and query exactly as requested.
    pub path: String,
    /// In the order received, names as the client wrote them.
    pub headers: Vec<(String, String)>,
    /// A POST's body (by Content-Length).
    pub body: Vec<u8>,
    /// When the request head had arrived.
    pub at: Instant,
}

impl Request {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// An answer to give.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// Sent as given; Content-Length (unless given here) and `Connection: close` (or, on a
    /// keep-alive server, `keep-alive`) are added.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// What follows the head of an answer.
#[derive(Clone, Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    /// Never answer: hold the connection until the client goes, or [`GIVE_UP`].
    Hang,
    /// The head without Content-Length, then bytes until the client goes, or [`GIVE_UP`].
    Endless,
}

/// Where a GBK page declares its charset.
pub enum CharsetIn {
    Header,
    Meta,
    Nowhere,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PortalServer {
    /// Binds `ip:0` and serves in a tokio task until the runtime ends, one request per connection.
    pub async fn start(ip: Ipv4Addr) -> PortalServer {
        Self::bind(ip, false).await
    }

    /// Like [`start`](Self::start), but a connection serves request after request until the client
    /// closes it (or sends `Connection: close`), as nginx and IIS in front of most portals do.
    pub async fn start_keep_alive(ip: Ipv4Addr) -> PortalServer {
        Self::bind(ip, true).await
    }

    async fn bind(ip: Ipv4Addr, keep_alive: bool) -> PortalServer {
        let listener = TcpListener::bind((ip, 0)).await.unwrap_or_else(|e| panic!("cannot bind {ip}:0: {e}"));
        let addr = listener.local_addr().expect("bound address");
        let server =
            PortalServer { addr, routes: Arc::default(), log: Arc::default(), keep_alive, connections: Arc::default() };
        let serving = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                serving.connections.fetch_add(1, Ordering::SeqCst);
                let server = serving.clone();
                tokio::spawn(async move { server.serve(stream).await });
            }
        });
        server
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers `path` (with its `?query`, exactly as requested) with `reply` from now on.
    pub fn route(&self, path: &str, reply: Reply) {
        self.handle(path, move |_| reply.clone());
    }

    /// Answers `path` with whatever `f` makes of each request.
    pub fn handle(&self, path: &str, f: impl Fn(&Request) -> Reply + Send + Sync + 'static) {
        lock(&self.routes).insert(path.to_owned(), Arc::new(f));
    }

    /// `path` answers 404 from now on.
    pub fn remove(&self, path: &str) {
        lock(&self.routes).remove(path);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.log).clone()
    }

    /// How many connections clients have opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.log).iter().filter(|r| r.path == path).count()
    }

    async fn serve(&self, mut stream: TcpStream) {
        // Bytes read past the end of one request: the start of the next.
        let mut buf = Vec::new();
        loop {
            let Some(request) = read_request(&mut stream, &mut buf).await else { return };
            let head_only = request.method == "HEAD";
            let handler = lock(&self.routes).get(&request.path).cloned();
            lock(&self.log).push(request.clone());
            let reply = match handler {
                Some(handler) => handler(&request),
                None => Reply::status(404),
            };
            let closes = request.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
            let keep = self.keep_alive && !closes && reply.delimits_itself();
            let written = tokio::time::timeout(GIVE_UP, write_reply(&mut stream, &reply, head_only, keep)).await;
            if !keep || !matches!(written, Ok(Ok(()))) {
                return;
            }
        }
    }
}

/// Reads one request head and its Content-Length body from `buf` and then the stream, leaving in
/// `buf` whatever followed it; `None` if the client sent no valid request or closed.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(GIVE_UP, stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let (method, path) = (start.next()?.to_owned(), start.next()?.to_owned());
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf.split_off(head_end + 4);
    buf.clear();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let n = tokio::time::timeout(GIVE_UP, stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if body.len() > length {
        *buf = body.split_off(length);
    }
    Some(Request { method, path, headers, body, at })
}

/// Writes `reply`; unless `keep` (the connection serves another request), closes the connection.
async fn write_reply(stream: &mut TcpStream, reply: &Reply, head_only: bool, keep: bool) -> std::io::Result<()> {
    if let Body::Hang = reply.body {
        // Not a byte of answer: hold the connection until the client gives up.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        return Ok(());
    }
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let (Body::Bytes(bytes), false) = (&reply.body, reply.declares_length()) {
        head.push_str(&format!("Content-Length: {}\r\n", bytes.len()));
    }
    head.push_str(if keep { "Connection: keep-alive\r\n\r\n" } else { "Connection: close\r\n\r\n" });
    stream.write_all(head.as_bytes()).await?;
    match &reply.body {
        _ if head_only => {}
        Body::Bytes(bytes) => stream.write_all(bytes).await?,
        Body::Endless => {
            let chunk = vec![b'x'; 64 * 1024];
            loop {
                stream.write_all(&chunk).await?;
            }
        }
        Body::Hang => {}
    }
    if keep {
        stream.flush().await
    } else {
        stream.shutdown().await
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

impl Reply {
    /// Whether the reply sets its own Content-Length (which may be a lie the test wants told).
    fn declares_length(&self) -> bool {
        self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    }

    /// Whether the client can tell where the answer ends, so the connection can serve another:
    /// bytes with the length the server adds, not a hang, an endless body or a declared length.
    fn delimits_itself(&self) -> bool {
        matches!(self.body, Body::Bytes(_)) && !self.declares_length()
    }

    /// A UTF-8 HTML page.
    pub fn html(html: &str) -> Reply {
        Reply::bytes("text/html; charset=utf-8", html.as_bytes().to_vec())
    }

    /// A page encoded in GBK, its charset declared in the header, in a `<meta>`, or nowhere.
    pub fn gbk_html(html: &str, charset: CharsetIn) -> Reply {
        let (content_type, html) = match charset {
            CharsetIn::Header => ("text/html; charset=GBK", html.to_owned()),
            CharsetIn::Meta => ("text/html", with_meta(html)),
            CharsetIn::Nowhere => ("text/html", html.to_owned()),
        };
        Reply::bytes(content_type, encoding_rs::GBK.encode(&html).0.into_owned())
    }

    /// Any bytes with a Content-Type.
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Reply {
        Reply { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body: Body::Bytes(body) }
    }

    /// A bare status with an empty body.
    pub fn status(code: u16) -> Reply {
        Reply { status: code, headers: Vec::new(), body: Body::Bytes(Vec::new()) }
    }

    /// A redirect to `location` (sent as given, so it may be relative).
    pub fn redirect(code: u16, location: &str) -> Reply {
        Reply::status(code).with_header("Location", location)
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Inserts a gb2312 `<meta http-equiv>` right after the `<head>` tag, or at the start of the document.
fn with_meta(html: &str) -> String {
    let meta = "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">";
    let lower = html.to_ascii_lowercase();
    let head = lower
        .match_indices("<head")
        .map(|(i, _)| i)
        .find(|i| lower[i + 5..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace()));
    match head.and_then(|i| lower[i..].find('>').map(|e| i + e + 1)) {
        Some(at) => format!("{}{meta}{}", &html[..at], &html[at..]),
        None => format!("{meta}{html}"),
    }
}

/// The first `n` requests get `fail`, the rest `then`.
pub fn fail_then(n: usize, fail: Reply, then: Reply) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let seen = AtomicUsize::new(0);
    move |_| if seen.fetch_add(1, Ordering::SeqCst) < n { fail.clone() } else { then.clone() }
}

/// `reply`, or a bodiless 304 to a request whose If-None-Match carries `etag`.
pub fn etag_aware(etag: &str, reply: Reply) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let etag = etag.to_owned();
    move |req| {
        let matches = req.header("if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
        if matches {
            Reply::status(304).with_header("ETag", &etag)
        } else {
            reply.clone()
        }
    }
}
