//! A TCP relay between the tests and a database server, which can break the link the way a
//! restarted server or a failed network does: every connection at once, or one connection just
//! after it sent a request (the server gets it; its reply never comes back).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// How long a connection cut after its request waits before it is closed: the server has
/// run the request by then (and, for an autocommit write, committed it).
const SERVER_RUNS_IT: Duration = Duration::from_millis(300);

/// A relay listening on a port of its own, forwarding to one server.
pub struct Relay {
    port: u16,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

#[derive(Default)]
struct Shared {
    /// The pumps of every relayed connection, by connection.
    links: Mutex<Vec<Link>>,
    /// Requests to let through before the connection that sends the next one is cut after
    /// it (0: none armed).
    cut_after: AtomicU64,
    /// Connections cut so far.
    cuts: AtomicU64,
}

struct Link {
    pumps: [AbortHandle; 2],
}

impl Relay {
    /// A relay to `server` (`host:port`).
    pub async fn start(server: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the relay");
        let port = listener.local_addr().expect("the relay's address").port();
        let shared = Arc::new(Shared::default());
        let server = server.to_owned();
        let accepting = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(&server).await else {
                    continue;
                };
                relay(client, upstream, &accepting);
            }
        })
        .abort_handle();
        Self {
            port,
            shared,
            accept,
        }
    }

    /// `url` (a `scheme://user@host:port/…` database URL) with its server replaced by a relay
    /// to it.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let (head, rest) = url.split_once('@').expect("a URL with user@host:port");
        let (server, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let relay = Self::start(server).await;
        let url = format!("{head}@127.0.0.1:{}{tail}", relay.port);
        (relay, url)
    }

    /// Close every relayed connection now, as a server that went away does.
    pub fn cut_all(&self) {
        let links = std::mem::take(&mut *self.shared.links.lock().expect("links"));
        for link in links {
            if link.pumps.iter().all(AbortHandle::is_finished) {
                continue;
            }
            for pump in link.pumps {
                pump.abort();
            }
            self.shared.cuts.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Let `requests - 1` requests through, then cut the connection that sends the next one,
    /// just after the server received it: it runs the request, and its reply is lost.
    pub fn cut_after_request(&self, requests: u64) {
        self.shared.cut_after.store(requests, Ordering::SeqCst);
    }

    /// Whether an armed cut is still waiting for its request.
    #[must_use]
    pub fn armed(&self) -> bool {
        self.shared.cut_after.load(Ordering::SeqCst) > 0
    }

    /// Connections cut so far.
    #[must_use]
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}

/// Pump bytes both ways between `client` and `upstream` until either side closes.
fn relay(client: TcpStream, upstream: TcpStream, shared: &Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    // Set once the connection is to be cut: no reply goes back from then on.
    let muted = Arc::new(AtomicBool::new(false));
    let replies_muted = Arc::clone(&muted);
    let replies = tokio::spawn(async move {
        let mut buffer = vec![0_u8; 64 * 1024];
        loop {
            let n = match upstream_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if replies_muted.load(Ordering::SeqCst) {
                continue;
            }
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    });
    let replies_handle = replies.abort_handle();
    let requests_shared = Arc::clone(shared);
    let requests = tokio::spawn(async move {
        let mut buffer = vec![0_u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let cut = requests_shared.cut_after.fetch_update(
                Ordering::SeqCst,
                Ordering::SeqCst,
                |left| (left > 0).then(|| left - 1),
            ) == Ok(1);
            if cut {
                muted.store(true, Ordering::SeqCst);
            }
            if upstream_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
            if cut {
                tokio::time::sleep(SERVER_RUNS_IT).await;
                requests_shared.cuts.fetch_add(1, Ordering::SeqCst);
                replies_handle.abort();
                // Dropping both halves closes the connection on both sides.
                return;
            }
        }
        replies_handle.abort();
    });
    shared.links.lock().expect("links").push(Link {
        pumps: [requests.abort_handle(), replies.abort_handle()],
    });
}
