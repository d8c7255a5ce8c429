//! A minimal HTTP/1.1 keep-alive client: the load tool must spend as little CPU as possible
//! on the machine it shares with the server.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the server is: `host:port` plus the base path.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: String,
    pub base_path: String,
    pub key: String,
}

impl Target {
    pub fn parse(url: &str, key: &str) -> Result<Target, String> {
        let rest = url.strip_prefix("http://").ok_or("the base URL must start with http://")?;
        let (addr, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        Ok(Target { addr: addr.to_string(), base_path: path.to_string(), key: key.to_string() })
    }
}

pub struct Conn {
    stream: TcpStream,
    target: Target,
    buf: Vec<u8>,
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Conn {
    pub async fn open(target: &Target) -> io::Result<Conn> {
        let stream = TcpStream::connect(&target.addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, target: target.clone(), buf: Vec::with_capacity(16 * 1024) })
    }

    pub async fn request(&mut self, method: &str, path: &str, body: Option<&str>) -> io::Result<Reply> {
        let body = body.unwrap_or("");
        let head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.target.base_path,
            self.target.addr,
            self.target.key,
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        self.stream.write_all(&out).await?;
        self.read_reply().await
    }

    async fn read_reply(&mut self) -> io::Result<Reply> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        let status = head.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| io::Error::other("bad status line"))?;
        let length = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().to_string()))
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| io::Error::other("a response without Content-Length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok(Reply { status, body })
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Starts a stream request and returns the raw connection after the response head.
    pub async fn open_stream(target: &Target, query: &str) -> io::Result<TcpStream> {
        let mut conn = Conn::open(target).await?;
        let head = format!(
            "GET {}/api/stream{query} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
            target.base_path, target.addr, target.key
        );
        conn.stream.write_all(head.as_bytes()).await?;
        loop {
            if let Some(i) = find(&conn.buf, b"\r\n\r\n") {
                if !conn.buf.starts_with(b"HTTP/1.1 200") {
                    return Err(io::Error::other(String::from_utf8_lossy(&conn.buf[..i]).to_string()));
                }
                return Ok(conn.stream);
            }
            conn.fill().await?;
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
