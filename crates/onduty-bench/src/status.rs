//! `status-page`: a traffic spike on a public status page while events keep arriving.
//! Against a running server: makes a page (components, an incident) through the API, then
//! runs ingest alone, then ingest while many clients fetch `summary.json`, and prints the
//! documents served per second and ingest's latency in both runs.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::{IngestArgs, percentile, worker};

#[derive(clap::Parser, Clone)]
pub(crate) struct StatusArgs {
    /// onduty's base URL (http only)
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An admin's API token (to make the page)
    #[arg(long)]
    token: String,
    /// An Events API v2 routing key of the server
    #[arg(long)]
    routing_key: String,
    /// Clients fetching summary.json, each with one request in flight
    #[arg(long, default_value_t = 64)]
    readers: usize,
    /// summary.json requests per second, all readers together (0: as fast as they can)
    #[arg(long, default_value_t = 5000)]
    rate: u64,
    /// Connections sending events, each with one request in flight
    #[arg(long, default_value_t = 64)]
    ingest_connections: usize,
    /// Events per second, all ingest connections together (0: as fast as the server
    /// answers, which measures queueing at saturation rather than ingest's own latency)
    #[arg(long, default_value_t = 1000)]
    ingest_rate: u64,
    /// Pairs of runs (ingest alone, then ingest during the spike), so the machine's swing
    /// between runs shows beside the spike's effect
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Measured duration of each run
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// What the readers fetch instead of the page's summary.json: a control, such as
    /// `/healthz`, to tell the status page's cost from the cost of any HTTP load
    #[arg(long)]
    read: Option<String>,
}

async fn connect(
    authority: &str,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One API call with the token; the answer's status and body.
async fn call(
    args: &StatusArgs,
    method: Method,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<(StatusCode, String)> {
    let authority = authority(&args.url);
    let mut sender = connect(&authority).await?;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", &authority)
        .header("authorization", format!("Bearer {}", args.token))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

fn authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// A page of 20 components, five of them in trouble, with an incident of several updates.
async fn make_page(args: &StatusArgs, slug: &str) -> anyhow::Result<()> {
    let base = "/api/v1/status-pages";
    let (status, said) = call(
        args,
        Method::POST,
        base,
        serde_json::json!({"slug": slug, "name": "Bench"}),
    )
    .await?;
    if status != StatusCode::CREATED {
        bail!("making the page answered {status}: {said}");
    }
    let components = format!("{base}/{slug}/components");
    for n in 0..20 {
        let body = serde_json::json!({"name": format!("Component {n:02}"), "description": "A part of the product"});
        call(args, Method::POST, &components, body).await?;
    }
    let affected: serde_json::Map<String, serde_json::Value> = (0..5)
        .map(|n| (format!("Component {n:02}"), "partial_outage".into()))
        .collect();
    let (status, said) = call(
        args,
        Method::POST,
        &format!("{base}/{slug}/incidents"),
        serde_json::json!({"name": "Elevated errors", "body": "We are looking into elevated error rates.", "components": affected}),
    )
    .await?;
    if status != StatusCode::CREATED {
        bail!("publishing the incident answered {status}: {said}");
    }
    Ok(())
}

/// Fetches summary.json until `stop_at`, one request every `every` (or back to back when
/// zero, or when behind); how many came back 200, and how many did not.
async fn reader(
    authority: String,
    path: String,
    every: Duration,
    stop_at: Instant,
) -> anyhow::Result<(u64, u64)> {
    let stream = TcpStream::connect(&authority).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let (mut ok, mut other) = (0, 0);
    let mut next = Instant::now();
    while Instant::now() < stop_at {
        if !every.is_zero() {
            tokio::time::sleep_until(next.into()).await;
            next += every;
        }
        let request = Request::get(path.as_str())
            .header("host", &authority)
            .body(Empty::new())?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if status == StatusCode::OK {
            ok += 1;
        } else {
            other += 1;
        }
    }
    Ok((ok, other))
}

/// Ingest for `seconds` with `readers` fetching summary.json meanwhile; the sorted ingest
/// latencies and the documents served.
async fn run(
    args: &StatusArgs,
    slug: &str,
    readers: usize,
) -> anyhow::Result<(Vec<u32>, u64, u64)> {
    let ingest = IngestArgs {
        url: args.url.clone(),
        routing_key: args.routing_key.clone(),
        connections: args.ingest_connections,
        seconds: args.seconds,
        warmup: 1,
        keys: 10_000,
        rate: args.ingest_rate,
        pid: None,
    };
    let start = Instant::now();
    let warm_until = start + Duration::from_secs(1);
    let stop_at = warm_until + Duration::from_secs(args.seconds);
    let path = args
        .read
        .clone()
        .unwrap_or_else(|| format!("/status/{slug}/api/v2/summary.json"));
    let every = if args.rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(readers as f64 / args.rate as f64)
    };
    let mut fetching = Vec::new();
    for _ in 0..readers {
        fetching.push(tokio::spawn(reader(
            authority(&args.url),
            path.clone(),
            every,
            stop_at,
        )));
    }
    let mut sending = Vec::new();
    for c in 0..args.ingest_connections {
        sending.push(tokio::spawn(worker(
            ingest.clone(),
            0x5EED ^ (c as u64 + 1),
            warm_until,
            stop_at,
        )));
    }
    let mut latencies = Vec::new();
    for t in sending {
        let w = t.await??;
        latencies.extend(w.latencies_us);
    }
    let (mut served, mut refused) = (0, 0);
    for t in fetching {
        let (ok, other) = t.await??;
        served += ok;
        refused += other;
    }
    latencies.sort_unstable();
    Ok((latencies, served, refused))
}

pub(crate) async fn spike(args: StatusArgs) -> anyhow::Result<()> {
    if !args.url.starts_with("http://") {
        bail!("--url must be an http:// URL");
    }
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let slug = format!("bench-{}", std::process::id());
    make_page(&args, &slug).await?;
    println!("onduty status page spike benchmark");
    match &args.read {
        None => println!(
            "  target:  {} (/status/{slug}/api/v2/summary.json: 20 components, 1 incident)",
            args.url
        ),
        Some(path) => println!("  target:  {} (readers fetch {path}, a control)", args.url),
    }
    println!(
        "  load:    {} readers ({}), {} ingest connections ({}), {} s measured per run",
        args.readers,
        per_second(args.rate, "requests"),
        args.ingest_connections,
        per_second(args.ingest_rate, "events"),
        args.seconds
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let seconds = args.seconds as f64;
    let mut ratios = Vec::new();
    let mut refused_in_all = 0;
    for round in 1..=args.rounds {
        let (alone, _, _) = run(&args, &slug, 0).await?;
        let (loaded, served, refused) = run(&args, &slug, args.readers).await?;
        refused_in_all += refused;
        let (p99_alone, p99_loaded) = (percentile(&alone, 99.0), percentile(&loaded, 99.0));
        let ratio = p99_loaded.as_secs_f64() / p99_alone.as_secs_f64().max(1e-9);
        ratios.push(ratio);
        println!("  round {round}:");
        println!(
            "    ingest alone:        {:.0} events/s, p50 {:.2} ms, p99 {:.2} ms",
            alone.len() as f64 / seconds,
            ms(percentile(&alone, 50.0)),
            ms(p99_alone)
        );
        println!(
            "    ingest during spike: {:.0} events/s, p50 {:.2} ms, p99 {:.2} ms ({ratio:.2}× alone)",
            loaded.len() as f64 / seconds,
            ms(percentile(&loaded, 50.0)),
            ms(p99_loaded)
        );
        println!(
            "    read during spike:   {:.0} documents/s ({served} answered 200, {refused} other answers)",
            served as f64 / (seconds + 1.0)
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "  ingest p99 during the spike / alone, median of {} rounds: {:.2}×",
        ratios.len(),
        ratios[ratios.len() / 2]
    );
    if refused_in_all > 0 {
        bail!("{refused_in_all} reads were not answered 200");
    }
    Ok(())
}

fn per_second(rate: u64, what: &str) -> String {
    if rate == 0 {
        "as fast as they can".to_owned()
    } else {
        format!("{rate} {what}/s asked")
    }
}
