//! Benchmarks as programs that print figures. `ingest` drives `POST /v2/enqueue` with
//! ~400-byte PagerDuty events over many keep-alive connections, each sending one event
//! at a time (a closed loop), and prints events/s, latency percentiles and, given the
//! server's pid, its peak memory.

mod pages;
mod paging;
mod reports;
mod schedules;
mod status;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Parser)]
#[command(about = "onduty benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive /v2/enqueue and report throughput and latency
    Ingest(IngestArgs),
    /// Event → first page latency at a webhook sink, at a fixed event rate (in process)
    PagingLatency {
        #[arg(long, default_value_t = 100)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Final schedule of a big schedule over a window (core only)
    ScheduleFinal {
        #[arg(long, default_value_t = 10)]
        layers: usize,
        #[arg(long, default_value_t = 50)]
        participants: usize,
        #[arg(long, default_value_t = 90)]
        days: u64,
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Who is on call now across many schedules (core, and through SQLite)
    OnCallNow {
        #[arg(long, default_value_t = 1000)]
        schedules: usize,
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// Web UI page times with many incidents (in process)
    UiPages {
        #[arg(long, default_value_t = 10_000)]
        incidents: usize,
        #[arg(long, default_value_t = 100)]
        runs: usize,
    },
    /// A report over many incidents through the API (in process, SQLite)
    Report {
        #[arg(long, default_value_t = 1_000_000)]
        incidents: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// summary.json under a traffic spike while events keep arriving (against a server)
    StatusPage(status::StatusArgs),
    /// Due → page lateness with many escalations pending (in process)
    EscalationLateness {
        #[arg(long, default_value_t = 100_000)]
        escalations: usize,
        #[arg(long, default_value_t = 60)]
        spread: u64,
    },
}

#[derive(Parser, Clone)]
struct IngestArgs {
    /// onduty's base URL (http only)
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An Events API v2 routing key of the server
    #[arg(long)]
    routing_key: String,
    /// Concurrent connections, each with one request in flight
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured duration
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Unmeasured warm-up before it
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Distinct dedup keys
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    /// Events per second, all connections together (0: each connection as fast as the
    /// server answers). Paced latency counts from when an event was due, not when it left,
    /// so a stall shows in full
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// The server's process id, to report its peak memory (Linux)
    #[arg(long)]
    pid: Option<u32>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Ingest(args) => runtime.block_on(ingest(args)),
        Command::PagingLatency { rate, seconds } => {
            runtime.block_on(paging::latency(rate, seconds))
        }
        Command::EscalationLateness {
            escalations,
            spread,
        } => runtime.block_on(paging::lateness(escalations, spread)),
        Command::ScheduleFinal {
            layers,
            participants,
            days,
            runs,
        } => {
            schedules::final_big(layers, participants, days, runs);
            Ok(())
        }
        Command::StatusPage(args) => runtime.block_on(status::spike(args)),
        Command::UiPages { incidents, runs } => runtime.block_on(pages::render(incidents, runs)),
        Command::Report { incidents, runs } => runtime.block_on(reports::report(incidents, runs)),
        Command::OnCallNow { schedules, runs } => {
            runtime.block_on(schedules::on_call_many(schedules, runs))
        }
    }
}

/// A small deterministic generator (xorshift64*), so runs send the same mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// One event: 94% triggers, 3% acknowledges, 3% resolves over `keys` dedup keys.
fn event(rng: &mut Rng, routing_key: &str, keys: u64) -> Vec<u8> {
    let key = rng.next() % keys;
    let roll = rng.next() % 100;
    let action = match roll {
        0..=2 => "acknowledge",
        3..=5 => "resolve",
        _ => "trigger",
    };
    serde_json::json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": format!("bench/host-{key:05}/disk"),
        "payload": {
            "summary": format!("Disk usage at {}% on host-{key:05}.prod.example.com (/var/lib/postgresql)", 90 + roll % 10),
            "source": format!("host-{key:05}.prod.example.com"),
            "severity": "critical",
            "component": "postgresql",
            "group": "prod-databases",
            "class": "disk",
            "custom_details": {"free": "3.1 GiB", "mount": "/var/lib/postgresql", "region": "eu-west-1"}
        },
        "client": "onduty-bench"
    })
    .to_string()
    .into_bytes()
}

struct Worker {
    latencies_us: Vec<u32>,
    errors: u64,
}

async fn worker(
    args: IngestArgs,
    seed: u64,
    warm_until: Instant,
    stop_at: Instant,
) -> anyhow::Result<Worker> {
    let authority = args
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let stream = TcpStream::connect(&authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut rng = Rng(seed | 1);
    let mut out = Worker {
        latencies_us: Vec::with_capacity(64 * 1024),
        errors: 0,
    };
    let every = if args.rate == 0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(args.connections as f64 / args.rate as f64)
    };
    // Connections start spread over one interval, so paced events do not arrive in bursts.
    let mut due = Instant::now() + every.mul_f64((seed % 1000) as f64 / 1000.0);
    loop {
        let started = if every.is_zero() {
            Instant::now()
        } else {
            tokio::time::sleep_until(due.into()).await;
            let started = due;
            due += every;
            started
        };
        if started >= stop_at {
            return Ok(out);
        }
        let body = event(&mut rng, &args.routing_key, args.keys);
        let request = Request::post("/v2/enqueue")
            .header("host", &authority)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        let elapsed = started.elapsed();
        if started >= warm_until {
            if status == StatusCode::ACCEPTED {
                out.latencies_us
                    .push(elapsed.as_micros().min(u128::from(u32::MAX)) as u32);
            } else {
                out.errors += 1;
            }
        }
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Duration::from_micros(u64::from(sorted[rank.min(sorted.len() - 1)]))
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    if !args.url.starts_with("http://") {
        bail!("--url must be an http:// URL");
    }
    let body_len = event(&mut Rng(7), &args.routing_key, args.keys).len();
    let start = Instant::now();
    let warm_until = start + Duration::from_secs(args.warmup);
    let stop_at = warm_until + Duration::from_secs(args.seconds);
    let mut tasks = Vec::with_capacity(args.connections);
    for c in 0..args.connections {
        tasks.push(tokio::spawn(worker(
            args.clone(),
            0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1),
            warm_until,
            stop_at,
        )));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let w = t.await??;
        all.extend(w.latencies_us);
        errors += w.errors;
    }
    let measured = (Instant::now() - warm_until).as_secs_f64();
    all.sort_unstable();
    let rate = all.len() as f64 / measured;
    println!("onduty ingest benchmark");
    println!("  target:       {} (POST /v2/enqueue)", args.url);
    println!(
        "  load:         {} connections, one request in flight each, {} s measured after {} s warm-up",
        args.connections, args.seconds, args.warmup
    );
    println!(
        "  events:       ~{body_len} bytes, {} dedup keys, 94% trigger / 3% acknowledge / 3% resolve",
        args.keys
    );
    println!(
        "  accepted:     {} events answered 202 ({errors} other answers)",
        all.len()
    );
    println!("  throughput:   {rate:.0} events/s");
    println!(
        "  latency:      p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&all, 50.0).as_secs_f64() * 1e3,
        percentile(&all, 99.0).as_secs_f64() * 1e3,
        all.last().map(|&m| f64::from(m) / 1e3).unwrap_or_default()
    );
    if let Some(pid) = args.pid {
        match peak_rss_kib(pid) {
            Some(kib) => println!(
                "  server peak RSS: {:.1} MB (VmHWM of pid {pid})",
                kib as f64 / 1024.0
            ),
            None => println!("  server peak RSS: unknown (cannot read /proc/{pid}/status)"),
        }
    }
    if errors > 0 {
        bail!("{errors} events were not answered 202");
    }
    Ok(())
}
