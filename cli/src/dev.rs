//! `smsdesk dev`: every function in one process. HTTP (API, webhooks, sandbox) on one socket; one poller per
//! queue (router, outbound-send, crm-upsert); a timers loop. State lives in one SQLite file, so a restart
//! loses no acknowledged message and no queued send.

use secrecy::SecretString;
use smsdesk_app::services::{
    crm::CrmConsumer, offer_timers::OfferTimerConsumer, outbound::OutboundConsumer, routing::RouterConsumer,
    timers,
};
use smsdesk_app::worker::{PollerConfig, run_poller};
use smsdesk_app::{App, AuthMode, Config, WebhookBase};
use smsdesk_ports::metrics::names;
use smsdesk_ports::{Clock, Consumer, MessageQueue, Metrics, QueueKind, Sample, SystemClock, UuidIds};
use smsdesk_providers::{ProviderOptions, Providers};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("could not open the embedded database {path}: {reason}")]
    Database { path: PathBuf, reason: String },
    #[error("could not listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("could not build the HTTP client: {0}")]
    Http(String),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("could not start the HTTP threads: {0}")]
    Threads(std::io::Error),
}

#[derive(Clone, Debug)]
pub struct DevOptions {
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub public_url: Option<String>,
    /// The admin token; generated when None.
    pub admin_token: Option<String>,
    pub retry_base: Duration,
    pub send_attempts: u32,
    pub sweep_every: Duration,
    /// How long a received message stays hidden from other consumers.
    pub visibility: Duration,
    /// How long a send claim holds.
    pub send_lease: Duration,
    /// Run the queue consumers and the timers (false: HTTP only; queued work waits for a process that runs them).
    pub workers: bool,
    /// When the timers requeue or fail replies stranded `queued`.
    pub stranded: smsdesk_domain::stranded::StrandedPolicy,
    /// Sign in through an OpenID Connect issuer (the console) and accept its JWTs (the API).
    pub oidc: Option<DevOidc>,
    /// The HTTP server's timeouts and connection limit.
    pub http: crate::http_server::HttpLimits,
}

/// `--oidc-issuer`, `--oidc-client-id`, `--oidc-audience`.
#[derive(Clone, Debug)]
pub struct DevOidc {
    pub issuer: String,
    pub client_id: String,
    pub audience: String,
}

impl DevOptions {
    /// Defaults for a server on `addr` with its database at `data`.
    pub fn new(addr: SocketAddr, data: PathBuf) -> Self {
        Self {
            addr,
            data,
            public_url: None,
            admin_token: None,
            retry_base: Duration::from_secs(5),
            send_attempts: 3,
            sweep_every: Duration::from_secs(5),
            visibility: Duration::from_secs(60),
            send_lease: Duration::from_secs(120),
            workers: true,
            stranded: Default::default(),
            oidc: None,
            http: Default::default(),
        }
    }
}

/// Ports that an embedding (the black-box tests) may replace: the clock (a controllable one, to test
/// auto-close without waiting a day) and a wrapper around the real queue (a fault injector that can make
/// sends fail). The default is what `smsdesk dev` runs with: the system clock and the queue as it is.
#[derive(Default)]
pub struct DevPorts {
    pub clock: Option<Arc<dyn Clock>>,
    #[allow(clippy::type_complexity)]
    pub wrap_queue: Option<Box<dyn FnOnce(Arc<dyn MessageQueue>) -> Arc<dyn MessageQueue> + Send>>,
    /// Runs on each thread of the HTTP server's runtime as it starts (the tests route those threads' logs
    /// to the capture of the test that started the server).
    pub on_http_thread: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// A running `smsdesk dev`.
pub struct DevServer {
    pub addr: SocketAddr,
    pub admin_token: String,
    pub token_generated: bool,
    pub data: PathBuf,
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<Result<(), DevError>>,
    _http: HttpRuntime,
}

/// Logs to stderr, colored only when stderr is a terminal (a redirected log gets no ANSI codes).
pub fn init_tracing() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,hyper=warn,reqwest=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn http_client() -> Result<reqwest::Client, DevError> {
    smsdesk_providers::http::client_builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| DevError::Http(e.to_string()))
}

/// Opens the database, binds the socket and starts HTTP, the pollers and the timers.
pub async fn start(options: DevOptions) -> Result<DevServer, DevError> {
    start_with(options, DevPorts::default()).await
}

/// [`start`], with some ports replaced (see [`DevPorts`]).
pub async fn start_with(options: DevOptions, ports: DevPorts) -> Result<DevServer, DevError> {
    if let Some(dir) = options.data.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DevError::Database { path: options.data.clone(), reason: e.to_string() })?;
    }
    let db = smsdesk_embedded::EmbeddedDb::open(&options.data)
        .map_err(|e| DevError::Database { path: options.data.clone(), reason: e.to_string() })?;
    let store = Arc::new(db.store());
    let queue: Arc<dyn MessageQueue> = Arc::new(db.queue());
    let queue = match ports.wrap_queue {
        Some(wrap) => wrap(queue),
        None => queue,
    };

    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| DevError::Listen { addr: options.addr, source })?;
    let addr = listener.local_addr().map_err(|source| DevError::Listen { addr: options.addr, source })?;

    let (admin_token, token_generated) = match options.admin_token.clone() {
        Some(t) => (t, false),
        None => (format!("sdk_admin_{}", uuid::Uuid::new_v4().simple()), true),
    };
    let public_url = options.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let mut config =
        Config::new(public_url, AuthMode::Tokens { admin_token: SecretString::from(admin_token.clone()) });
    if options.public_url.is_none() {
        // Signatures over the URL (Twilio's) are checked against the name the provider's client used.
        config.webhook_base = WebhookBase::ServedHost;
    }
    config.sandbox = true;
    config.allow_loopback_http = true;
    config.retry.base_delay = options.retry_base;
    config.retry.max_attempts = options.send_attempts.max(1);
    config.send_lease = options.send_lease;
    config.stranded = options.stranded;
    if let Some(oidc) = &options.oidc {
        config.oidc = Some(smsdesk_app::oidc::OidcSettings::new(&oidc.issuer, &oidc.client_id, None));
        config.jwt =
            Some(Arc::new(smsdesk_app::oidc::JwtVerifier::new(&oidc.issuer, &oidc.audience, http_client()?)));
    }

    let clock: Arc<dyn Clock> = ports.clock.unwrap_or_else(|| Arc::new(SystemClock));
    let provider_options = ProviderOptions { allow_loopback_http: config.allow_loopback_http };
    let providers = Providers::configured(http_client()?, store.clone(), clock.clone(), provider_options);
    let app =
        App::new(store.clone(), queue.clone(), store.clone(), providers, clock, Arc::new(UuidIds), config);

    let metrics = Arc::new(smsdesk_embedded::PrometheusMetrics::new());
    app.set_metrics(metrics.clone());
    // MMS media in a folder beside the database (`<data>.media/`), its links served by `/v1/media/...`.
    let media = smsdesk_embedded::FolderMedia::beside(&options.data, &app.config.public_base_url)
        .map_err(|e| DevError::Database { path: options.data.clone(), reason: e.to_string() })?;
    app.set_media(Arc::new(media));

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();

    // `/metrics`: the counters in Prometheus text, for the tools people already run (no auth, like
    // /healthz; it names queues and providers, never customers), with a health summary of the pipes:
    // messages waiting or in flight, and dead letters, per queue.
    let health = app.clone();
    let router = smsdesk_app::http::router(app.clone()).route(
        "/metrics",
        axum::routing::get(move || {
            let (metrics, app) = (metrics.clone(), health.clone());
            async move {
                for kind in QueueKind::ALL {
                    let stage = vec![("Stage", kind.name().to_owned())];
                    if let Ok(depth) = app.queue.depth(kind).await {
                        metrics.record(Sample::gauge(names::QUEUE_DEPTH, depth as f64, stage.clone()));
                    }
                    if let Ok(dead) = app.queue.dead_letters(kind).await {
                        metrics.record(Sample::gauge(names::DEAD_LETTERS, dead.len() as f64, stage));
                    }
                }
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
            }
        }),
    );
    // `/v1/events`: live updates for the console, tailing the change feed of the same database.
    let router = crate::events::route(
        router,
        crate::events::Events { app: app.clone(), feed: store.clone(), shutdown: shutdown_rx.clone() },
    )
    // A method these two routes do not take: the API's JSON 405 too; and the API's header limit.
    .method_not_allowed_fallback(smsdesk_app::http::method_not_allowed)
    .layer(axum::middleware::from_fn(smsdesk_app::http::limit_headers));
    // A provider or an agent waits on every HTTP answer: their writes go ahead of the workers' in the
    // embedded store's group commits (`smsdesk_embedded::foreground`).
    let router = router.layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| {
            let request = request.map(|body| axum::body::Body::new(DrainedBody(Some(body))));
            smsdesk_embedded::foreground(next.run(request))
        },
    ));
    // HTTP runs on a runtime of its own: the queue workers' hundreds of tasks (a poll takes 128 messages)
    // would otherwise queue a webhook's answer behind them on the same threads; on threads of its own it
    // gets its share of the CPU from the OS whatever their backlog.
    let http = HttpRuntime::new(ports.on_http_thread).map_err(DevError::Threads)?;
    let listener = listener.into_std().map_err(|source| DevError::Listen { addr, source })?;
    let mut rx = shutdown_rx.clone();
    let limits = options.http;
    let serving = http.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(DevError::Serve)?;
        crate::http_server::serve(listener, router, limits, async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
        .await;
        Ok::<_, DevError>(())
    });
    tasks.spawn(
        async move { serving.await.map_err(|e| DevError::Serve(std::io::Error::other(e.to_string())))? },
    );

    if options.workers {
        spawn_workers(&mut tasks, &app, shutdown_rx, options.sweep_every, options.visibility);
    }

    Ok(DevServer {
        addr,
        admin_token,
        token_generated,
        data: options.data,
        app,
        shutdown,
        tasks,
        _http: http,
    })
}

/// A request body that, when the app drops it unread (a 413 for an oversize body is answered from its
/// length alone), is read to its end in the background (at most [`DRAIN_LIMIT`] bytes, for
/// [`DRAIN_TIME`]) before the connection closes. Closed with data still arriving, the socket would answer
/// the sender's next bytes with a reset, and a sender still writing its body would get "connection reset"
/// instead of the 413 and its reason.
struct DrainedBody(Option<axum::body::Body>);

const DRAIN_LIMIT: usize = 32 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(5);

impl http_body::Body for DrainedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.0.as_mut() {
            Some(body) => std::pin::Pin::new(body).poll_frame(cx),
            None => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.as_ref().map(http_body::Body::size_hint).unwrap_or_default()
    }
}

impl Drop for DrainedBody {
    fn drop(&mut self) {
        let Some(mut body) = self.0.take() else { return };
        if http_body::Body::is_end_stream(&body) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(tokio::time::timeout(DRAIN_TIME, async move {
            let mut read = 0;
            while read < DRAIN_LIMIT {
                let next =
                    std::future::poll_fn(|cx| http_body::Body::poll_frame(std::pin::Pin::new(&mut body), cx))
                        .await;
                match next {
                    Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                    Some(Err(_)) | None => return,
                }
            }
        }));
    }
}

/// The HTTP server's own runtime, stopped without waiting when the server is dropped (its connections are
/// closed by then, or are dropped with it).
struct HttpRuntime {
    handle: tokio::runtime::Handle,
    /// Taken on drop.
    runtime: Option<tokio::runtime::Runtime>,
}

impl HttpRuntime {
    fn new(on_thread: Option<Arc<dyn Fn() + Send + Sync>>) -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads).thread_name("smsdesk-http").enable_all();
        if let Some(hook) = on_thread {
            builder.on_thread_start(move || hook());
        }
        let runtime = builder.build()?;
        Ok(Self { handle: runtime.handle().clone(), runtime: Some(runtime) })
    }

    fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(work)
    }
}

impl Drop for HttpRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// How many messages one poll takes. The batch's lanes (FIFO groups) run concurrently, and the embedded
/// store commits concurrent writes together (one fsync for all that are ready), so a larger batch is fewer
/// fsyncs per message; SQS's own limit of 10 does not apply to the embedded queue.
const POLL_BATCH: usize = 128;

/// Pollers per queue. A poll's batch is done when its slowest lane is; other pollers take the next batches
/// meanwhile, so the store's group commits stay full. The queue hands a FIFO group to one poller at a time
/// (a group with a message in flight is not delivered again), as SQS does to concurrent Lambda pollers, so
/// the order within a conversation holds. 4 routed 10,000 texts faster than 2 in `smsdesk bench` without
/// slowing the webhooks (their writes go first: `smsdesk_embedded::foreground`).
const POLLERS_PER_QUEUE: usize = 4;

/// [`POLLERS_PER_QUEUE`] pollers per queue (router, outbound-send, crm-upsert, offer timers) and the
/// timers loop.
fn spawn_workers(
    tasks: &mut JoinSet<Result<(), DevError>>,
    app: &Arc<App>,
    shutdown_rx: watch::Receiver<bool>,
    every: Duration,
    visibility: Duration,
) {
    let consumers: [(QueueKind, Arc<dyn Consumer>); 4] = [
        (QueueKind::Inbound, Arc::new(RouterConsumer::new(app.clone()))),
        (QueueKind::Outbound, Arc::new(OutboundConsumer::new(app.clone()))),
        (QueueKind::Crm, Arc::new(CrmConsumer::new(app.clone()))),
        // Offer timeouts, delivered when they run out (the sweep below is the safety net).
        (QueueKind::Timers, Arc::new(OfferTimerConsumer::new(app.clone()))),
    ];
    for (kind, consumer) in consumers {
        for _ in 0..POLLERS_PER_QUEUE {
            let (queue, consumer) = (app.queue.clone(), consumer.clone());
            let rx = shutdown_rx.clone();
            let cfg = PollerConfig { batch: POLL_BATCH, idle: Duration::from_millis(50), visibility };
            tasks.spawn(async move {
                run_poller(queue, kind, consumer, cfg, rx).await;
                Ok(())
            });
        }
    }

    let timers_app = app.clone();
    let mut rx = shutdown_rx;
    tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = rx.wait_for(|stop| *stop) => return Ok(()),
            }
            if let Err(e) = timers::sweep(&timers_app).await {
                tracing::warn!(error = %e, "timer sweep failed");
            }
        }
    });
}

impl DevServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn print_banner(&self) {
        println!("smsdesk dev is serving on {}", self.url());
        println!("  data:        {}", self.data.display());
        if self.token_generated {
            println!(
                "  admin token: {}   (generated; set SMSDESK_ADMIN_TOKEN to choose one)",
                self.admin_token
            );
        } else {
            println!("  admin token: from SMSDESK_ADMIN_TOKEN");
        }
        println!("  try:         curl {}/healthz", self.url());
    }

    /// Stops HTTP, the pollers and the timers, letting in-flight work finish.
    pub async fn shutdown(mut self) -> Result<(), DevError> {
        let _ = self.shutdown.send(true);
        let mut result = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            if let Ok(Err(e)) = joined {
                result = Err(e);
            }
        }
        result
    }

    /// Runs until Ctrl-C or SIGTERM, then shuts down cleanly.
    pub async fn run_until_signal(mut self) -> Result<(), DevError> {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
            Some(joined) = self.tasks.join_next() => {
                if let Ok(Err(e)) = joined {
                    return Err(e);
                }
            }
        }
        println!("smsdesk dev: shutting down");
        self.shutdown().await
    }
}
