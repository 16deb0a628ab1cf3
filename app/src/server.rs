//! The HTTP/1.1 accept loop: at most `max_connections` connections at once, each closed when its
//! client is too slow to send a request head or leaves it idle too long, and a graceful shutdown
//! that finishes the requests in flight.
//!
//! hyper's own header timeout starts as soon as a connection waits for a request, idle keep-alive
//! time included, so it cannot tell an idle client from a slow one. Each connection here keeps
//! its own phase instead: its IO records reads and writes, its service records when a handler
//! starts and when the response body is done, and the task serving it sleeps until the deadline
//! of the current phase.

use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// The connection limits `serve` enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_read_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub max_connections: u32,
}

/// Accepts connections until `shutdown` completes, then waits for the open ones to finish.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cap = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(cap as usize));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        // A slot first: over the cap, connections wait in the listen queue, not in the server.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(stream, router.clone(), limits, stopping.clone(), Slot::new(permit)));
    }
    drop(listener);
    let _ = stop.send(true);
    // Each connection holds its slot until it ends: every slot free means every connection done.
    let _ = slots.acquire_many(cap).await;
    Ok(())
}

/// A connection's place under the cap, counted in `kith_http_connections`.
struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit) -> Slot {
        metrics::gauge!("kith_http_connections").increment(1.0);
        Slot { _permit: permit }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::gauge!("kith_http_connections").decrement(1.0);
    }
}

/// As hyper's and axum's servers do: a failed handshake is the client's business; anything else
/// (out of file descriptors, most likely) is logged, and accepting resumes a second later.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it ends, its phase's deadline passes, or shutdown finds it
/// between requests.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
    slot: Slot,
) {
    let tracker = Arc::new(Tracker::new());
    let io = TokioIo::new(TrackedIo { inner: stream, tracker: tracker.clone() });
    let on_request = tracker.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let tracker = on_request.clone();
        tracker.set(Phase::Handling);
        let answer = router.clone().oneshot(crate::rewrite(req.map(Body::new)));
        async move {
            let response: Response = match answer.await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            tracker.set(Phase::Responding);
            Ok::<_, std::convert::Infallible>(response.map(|inner| TrackedBody { inner, tracker }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The phases below time request heads; hyper's timer would also cut idle connections short.
    builder.header_read_timeout(None);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut sleep = pin!(tokio::time::sleep(Duration::ZERO));
    let mut draining = false;
    loop {
        let deadline = tracker.deadline(&limits);
        if let Some((at, why)) = deadline {
            if at <= Instant::now() {
                tracing::debug!(reason = why, "closing a connection");
                break;
            }
            sleep.as_mut().reset(at);
        }
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            () = &mut sleep, if deadline.is_some() => {}
            () = tracker.changed.notified() => {}
            _ = stopping.wait_for(|s| *s), if !draining => {
                draining = true;
                if tracker.between_requests() {
                    break;
                }
                // Finish the request in flight, then close.
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(slot);
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head: since the connection opened, or since the first byte of a
    /// later request arrived.
    Head(Instant),
    /// A handler is working on a request (bounded by the request timeout, not here).
    Handling,
    /// The response is being sent; it must make progress.
    Responding,
    /// No request in progress, since the last response was sent.
    Idle(Instant),
}

/// What a connection is doing, as its IO and its service see it.
struct Tracker {
    state: Mutex<State>,
    /// Woken on every change of phase, so the connection's task recomputes its deadline.
    changed: Notify,
}

struct State {
    phase: Phase,
    last_write: Instant,
}

impl Tracker {
    fn new() -> Tracker {
        let now = Instant::now();
        Tracker { state: Mutex::new(State { phase: Phase::Head(now), last_write: now }), changed: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, phase: Phase) {
        let mut s = self.lock();
        if matches!(phase, Phase::Responding) {
            s.last_write = Instant::now();
        }
        s.phase = phase;
        drop(s);
        self.changed.notify_one();
    }

    /// Bytes arrived: on an idle connection, a request head starts.
    fn read_some(&self) {
        let mut s = self.lock();
        if matches!(s.phase, Phase::Idle(_)) {
            s.phase = Phase::Head(Instant::now());
            drop(s);
            self.changed.notify_one();
        }
    }

    fn wrote_some(&self) {
        self.lock().last_write = Instant::now();
    }

    /// When the connection is to be closed if nothing changes, and why.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, &'static str)> {
        let s = self.lock();
        match s.phase {
            Phase::Head(since) => limits.header_read_timeout.map(|d| (since + d, "header read timeout")),
            Phase::Handling => None,
            Phase::Responding => limits.idle_timeout.map(|d| (s.last_write + d, "response not read")),
            Phase::Idle(since) => limits.idle_timeout.map(|d| (since + d, "idle timeout")),
        }
    }

    /// Whether no request is in progress (a partial head is not one yet).
    fn between_requests(&self) -> bool {
        matches!(self.lock().phase, Phase::Head(_) | Phase::Idle(_))
    }
}

/// The socket, reporting reads and writes to the tracker.
struct TrackedIo {
    inner: TcpStream,
    tracker: Arc<Tracker>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.tracker.read_some();
        }
        polled
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.tracker.wrote_some();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.tracker.wrote_some();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A response body that marks the connection idle once hyper is done with it.
struct TrackedBody {
    inner: Body,
    tracker: Arc<Tracker>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.tracker.set(Phase::Idle(Instant::now()));
    }
}
