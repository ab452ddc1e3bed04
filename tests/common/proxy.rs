//! A fault-injecting TCP proxy for the live tests: it sits between mailcart and one of the
//! lab's servers on loopback and passes bytes through, or does to them what a bad network or
//! a bad server would. The fault can be changed at any moment, and acts on the connections
//! already open as well as on new ones. It runs on a thread of its own, so the tests can block.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Once `after` has come from the server and `then` bytes more, the connection is reset
    /// (RST, as SO_LINGER 0 makes it) on both sides; then the proxy passes again.
    Reset {
        after: Vec<u8>,
        then: usize,
    },
    /// Connections are accepted and read, and never answered or closed; open ones go silent.
    BlackHole,
    /// The server's bytes reach the client `bytes` at a time, `every` so often.
    Drip {
        bytes: usize,
        every: Duration,
    },
    /// The port is closed (connections are refused) and open connections are closed.
    Refuse,
    /// The client's SMTP `verb` ("RCPT" or "DATA") in a transaction to a recipient containing
    /// `to` never reaches the server: the client gets `reply` instead, `times` times.
    SmtpReply {
        verb: &'static str,
        to: String,
        reply: String,
        times: usize,
    },
    /// At the client's final "\r\n.\r\n" of DATA, the server's answer is awaited, handed to the
    /// client only if `reply_reaches_client`, and the connection is reset; `times` times.
    DropAfterData {
        reply_reaches_client: bool,
        times: usize,
    },
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    fault: watch::Sender<Fault>,
    /// When each connection was accepted.
    accepted: Mutex<Vec<Instant>>,
    /// How often a fault acted (a reset, a replaced reply, a drop after DATA).
    fired: AtomicUsize,
}

impl Proxy {
    /// A proxy on a free loopback port, passing to `127.0.0.1:upstream`.
    pub fn to(upstream: u16) -> Proxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = std_listener.local_addr().unwrap().port();
        std_listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            fault: watch::Sender::new(Fault::Pass),
            accepted: Mutex::new(Vec::new()),
            fired: AtomicUsize::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let inner = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                tokio::select! {
                    _ = accept(listener, port, upstream, inner) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops every connection's task, and so its sockets.
        });
        Proxy {
            port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn set(&self, fault: Fault) {
        self.shared.fault.send_replace(fault);
    }

    /// The fault in force (one with a count turns back into `Pass` once used up).
    pub fn fault(&self) -> Fault {
        self.shared.fault.borrow().clone()
    }

    /// When each connection was accepted, in order.
    pub fn accepted(&self) -> Vec<Instant> {
        self.shared.accepted.lock().unwrap().clone()
    }

    /// How many times a fault acted on the traffic.
    pub fn fired(&self) -> usize {
        self.shared.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept(mut listener: TcpListener, port: u16, upstream: u16, shared: Arc<Shared>) {
    let mut faults = shared.fault.subscribe();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if *faults.borrow_and_update() == Fault::Refuse {
            drop(listener);
            let _ = faults.wait_for(|f| *f != Fault::Refuse).await;
            // SO_REUSEADDR (tokio sets it) lets the port be taken again at once.
            listener = loop {
                match TcpListener::bind(addr).await {
                    Ok(l) => break l,
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            };
            continue;
        }
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                shared.accepted.lock().unwrap().push(Instant::now());
                let _ = client.set_nodelay(true);
                tokio::spawn(serve(client, upstream, Arc::clone(&shared)));
            }
            _ = faults.changed() => {}
        }
    }
}

/// Read and drop whatever the client sends, until it gives up.
async fn swallow(mut client: TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// SO_LINGER 0: closing the socket sends RST instead of FIN.
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

async fn serve(client: TcpStream, upstream: u16, shared: Arc<Shared>) {
    let faults = shared.fault.subscribe();
    if *faults.borrow() == Fault::BlackHole {
        return swallow(client).await;
    }
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        // As the server itself would: nothing listens.
        reset(&client);
        return;
    };
    let _ = server.set_nodelay(true);
    let mut link = Link {
        client,
        server,
        faults,
        shared,
        from_client: Vec::new(),
        in_data: false,
        data_tail: Vec::new(),
        recipients: Vec::new(),
        end_of_data: None,
        server_tail: Vec::new(),
        cut_in: None,
    };
    if let Ok(true) = link.run().await {
        let Link { client, .. } = link;
        swallow(client).await;
    }
}

/// One proxied connection. Bytes from the client are forwarded line by line outside DATA (so
/// that an SMTP command can be answered in the server's place), as they come inside it.
struct Link {
    client: TcpStream,
    server: TcpStream,
    faults: watch::Receiver<Fault>,
    shared: Arc<Shared>,
    /// Client bytes not yet forwarded: a line not yet complete.
    from_client: Vec<u8>,
    in_data: bool,
    /// The last bytes of DATA forwarded, to find "\r\n.\r\n" across reads.
    data_tail: Vec<u8>,
    /// RCPT TO addresses of the current SMTP transaction, lower-cased.
    recipients: Vec<String>,
    /// Set at the end of DATA under `DropAfterData`: whether the server's answer is passed on.
    end_of_data: Option<bool>,
    /// The last bytes from the server, to find a `Reset` pattern across reads.
    server_tail: Vec<u8>,
    /// Under `Reset`, once the pattern was seen: bytes still to pass before the cut.
    cut_in: Option<usize>,
}

impl Link {
    /// Until either side closes, the connection is cut, or the server is down (false), or a
    /// black hole begins (true: the client is to be kept waiting).
    async fn run(&mut self) -> std::io::Result<bool> {
        let mut a = vec![0u8; 16 * 1024];
        let mut b = vec![0u8; 16 * 1024];
        loop {
            match self.faults.borrow_and_update().clone() {
                Fault::Refuse => return Ok(false),
                Fault::BlackHole => return Ok(true),
                _ => {}
            }
            tokio::select! {
                n = self.client.read(&mut a) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(false);
                    }
                    self.from_client.extend_from_slice(&a[..n]);
                    self.client_bytes().await?;
                }
                n = self.server.read(&mut b) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(false);
                    }
                    if self.server_bytes(&b[..n]).await? {
                        return Ok(false);
                    }
                }
                _ = self.faults.changed() => {}
            }
        }
    }

    fn fired(&self) {
        self.shared.fired.fetch_add(1, Ordering::SeqCst);
    }

    /// Reset both sides; the caller returns.
    fn cut(&self) {
        reset(&self.client);
        reset(&self.server);
    }

    /// Forward what the client sent, but for an SMTP command answered in the server's place.
    async fn client_bytes(&mut self) -> std::io::Result<()> {
        loop {
            if self.in_data {
                let mut seen = std::mem::take(&mut self.data_tail);
                let start = seen.len();
                seen.extend_from_slice(&self.from_client);
                let end = find(&seen, b"\r\n.\r\n").map(|i| i + 5 - start);
                let upto = end.unwrap_or(self.from_client.len());
                let chunk: Vec<u8> = self.from_client.drain(..upto).collect();
                self.server.write_all(&chunk).await?;
                let keep = seen.len().min(4);
                self.data_tail = seen[seen.len() - keep..].to_vec();
                if end.is_none() {
                    return Ok(());
                }
                self.in_data = false;
                self.data_tail.clear();
                let fault = self.faults.borrow().clone();
                if let Fault::DropAfterData {
                    reply_reaches_client,
                    times,
                } = fault
                    && times > 0
                {
                    self.end_of_data = Some(reply_reaches_client);
                    self.use_once(times - 1);
                }
                continue;
            }
            let Some(i) = find(&self.from_client, b"\r\n") else {
                return Ok(());
            };
            let line: Vec<u8> = self.from_client.drain(..i + 2).collect();
            let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
            let verb = text
                .split([' ', ':', '\r'])
                .next()
                .unwrap_or("")
                .to_string();
            if verb == "mail" {
                self.recipients.clear();
            }
            let to = (verb == "rcpt").then(|| text.trim_end().to_string());
            let fault = self.faults.borrow().clone();
            if let Fault::SmtpReply {
                verb: v,
                to: who,
                reply,
                times,
            } = fault
                && times > 0
                && v.eq_ignore_ascii_case(&verb)
            {
                let who = who.to_ascii_lowercase();
                let meant = match &to {
                    Some(rcpt) => rcpt.contains(&who),
                    None => self.recipients.iter().any(|r| r.contains(&who)),
                };
                if meant {
                    self.fired();
                    self.use_once(times - 1);
                    self.client
                        .write_all(format!("{reply}\r\n").as_bytes())
                        .await?;
                    continue;
                }
            }
            if let Some(rcpt) = to {
                self.recipients.push(rcpt);
            }
            if verb == "data" && text.trim_end() == "data" {
                self.in_data = true;
            }
            self.server.write_all(&line).await?;
        }
    }

    /// A fault with a count was used once: `left` more, or back to passing.
    fn use_once(&mut self, left: usize) {
        let next = match self.faults.borrow().clone() {
            _ if left == 0 => Fault::Pass,
            Fault::SmtpReply {
                verb, to, reply, ..
            } => Fault::SmtpReply {
                verb,
                to,
                reply,
                times: left,
            },
            Fault::DropAfterData {
                reply_reaches_client,
                ..
            } => Fault::DropAfterData {
                reply_reaches_client,
                times: left,
            },
            other => other,
        };
        self.shared.fault.send_replace(next);
        // Our own change is no news to this link.
        self.faults.mark_unchanged();
    }

    /// Pass on what the server sent, as the fault says; true when the connection was cut.
    async fn server_bytes(&mut self, data: &[u8]) -> std::io::Result<bool> {
        if let Some(reach) = self.end_of_data {
            // The answer to the end of DATA: one line (single-line replies are all we meet).
            self.server_tail.extend_from_slice(data);
            if find(&self.server_tail, b"\r\n").is_none() {
                return Ok(false);
            }
            // Counted before the client can act on the answer.
            self.fired();
            if reach {
                self.client.write_all(&self.server_tail).await?;
                self.client.flush().await?;
                // Let the client read it before the reset discards what is unread.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            self.cut();
            return Ok(true);
        }
        let fault = self.faults.borrow().clone();
        match fault {
            Fault::Drip { bytes, every } => {
                let mut rest = data;
                while !rest.is_empty() {
                    if !matches!(*self.faults.borrow(), Fault::Drip { .. }) {
                        self.client.write_all(rest).await?;
                        break;
                    }
                    let (now, later) = rest.split_at(bytes.clamp(1, rest.len()));
                    self.client.write_all(now).await?;
                    rest = later;
                    tokio::time::sleep(every).await;
                }
                Ok(false)
            }
            Fault::Reset { after, then } => {
                let cut_at = match self.cut_in {
                    Some(left) => Some(left),
                    None => {
                        let start = self.server_tail.len();
                        let mut seen = std::mem::take(&mut self.server_tail);
                        seen.extend_from_slice(data);
                        let found = find_after(&seen, &after, start);
                        let keep = seen.len().min(after.len());
                        self.server_tail = seen[seen.len() - keep..].to_vec();
                        found.map(|end| end - start + then)
                    }
                };
                match cut_at {
                    Some(at) if at < data.len() => {
                        self.client.write_all(&data[..at]).await?;
                        self.client.flush().await?;
                        self.fired();
                        self.shared.fault.send_replace(Fault::Pass);
                        self.cut();
                        Ok(true)
                    }
                    Some(at) => {
                        self.cut_in = Some(at - data.len());
                        self.client.write_all(data).await?;
                        Ok(false)
                    }
                    None => {
                        self.client.write_all(data).await?;
                        Ok(false)
                    }
                }
            }
            _ => {
                self.client.write_all(data).await?;
                Ok(false)
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The end of the first `needle` in `haystack` that ends after `start`.
fn find_after(haystack: &[u8], needle: &[u8], start: usize) -> Option<usize> {
    if needle.is_empty() {
        return Some(start);
    }
    haystack
        .windows(needle.len())
        .enumerate()
        .map(|(i, _)| i + needle.len())
        .find(|&end| end > start && haystack[end - needle.len()..end] == *needle)
}
