//! `make bench`: what a rotation costs, measured as Lambda runs the functions. Each release
//! binary polls the Lambda Runtime API (served by moto), Secrets Manager's RotateSecret drives
//! the four steps, and the function reaches the Secrets Manager API through a proxy that holds
//! every call for a set latency: 0 ms, and 15 ms as a call costs in AWS. PostgreSQL is reached
//! over verified TLS, Neo4j over Bolt, both on this machine.
//!
//! A cold rotation is the first one in a freshly started process; warm rotations follow in the
//! same process. Writes bench/RESULTS.md and prints it.

use std::fmt::Write as _;
use std::path::Path;

use integration_tests::{
    Invocation, ProxiedCall, RunningFunction, SecretsManager, install_crypto_provider, moto, neo4j,
    tls_postgres, unique, workspace_root,
};
use rotation_core::Step;
use serde_json::json;

/// Rotations per measurement: each cold one in a new process, the warm ones in one process.
/// `BENCH_ROTATIONS` changes it (for a quick look; the goals are judged on 20 or more).
fn rotation_count() -> usize {
    std::env::var("BENCH_ROTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
}
const LATENCIES_MS: [u64; 2] = [0, 15];
/// The latency at which calls sent together visibly overlap, so round trips can be counted.
const COUNTED_AT_MS: u64 = 15;
const FUNCTIONS: [&str; 3] = ["rotate-postgres", "rotate-neo4j", "rotate-jwt"];

/// The goals a change to the functions is held to.
const MAX_ZIP_BYTES: u64 = 3_670_016; // 3.5 MiB
const MAX_INIT_MS: f64 = 15.0;
const MAX_RSS_KIB: u64 = 14_000 * 1000 / 1024; // 14 MB
const MAX_CALLS: usize = 11;
const MAX_ROUND_TRIPS: usize = 6;

/// One rotation as measured.
struct Rotation {
    /// Process start to the first poll of the Runtime API; cold rotations only.
    init_ms: Option<f64>,
    /// Handing each step's event to the function to its answer, in step order.
    steps_ms: [f64; 4],
    calls: usize,
    round_trips: usize,
}

impl Rotation {
    fn total_ms(&self) -> f64 {
        self.steps_ms.iter().sum()
    }
}

/// Many rotations of one function at one latency, cold or warm.
struct Series {
    function: &'static str,
    latency_ms: u64,
    cold: bool,
    rotations: Vec<Rotation>,
    peak_rss_kib: u64,
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn median_p95(mut values: Vec<f64>) -> String {
    if values.is_empty() {
        return "–".into();
    }
    let median = percentile(&mut values, 50.0);
    let p95 = percentile(&mut values, 95.0);
    format!("{median:.1} / {p95:.1}")
}

/// Sequential round trips among `calls`: each call waits for the longest chain of calls that
/// had all answered before it was sent; calls in flight together share a trip.
fn round_trips(calls: &[&ProxiedCall]) -> usize {
    let mut depths: Vec<(f64, usize)> = Vec::new();
    let mut sorted: Vec<_> = calls.to_vec();
    sorted.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut deepest = 0;
    for call in sorted {
        let before = depths
            .iter()
            .filter(|(end, _)| *end <= call.start)
            .map(|(_, depth)| *depth)
            .max()
            .unwrap_or(0);
        depths.push((call.end, before + 1));
        deepest = deepest.max(before + 1);
    }
    deepest
}

/// Where each function rotates a secret of its own, and the environment it needs.
struct Subject {
    function: &'static str,
    env: Vec<(String, String)>,
}

impl Subject {
    fn new(function: &'static str) -> Self {
        let env = match function {
            "rotate-postgres" => vec![(
                "PGSSLROOTCERT".to_owned(),
                tls_postgres()
                    .ca_file
                    .as_ref()
                    .expect("the TLS cluster has a CA")
                    .display()
                    .to_string(),
            )],
            _ => Vec::new(),
        };
        Self { function, env }
    }

    /// A new secret for this function, with its user on the server.
    async fn secret(&self, sm: &SecretsManager) -> String {
        let user = unique("bench");
        let password = format!("initial-{}", unique("pw"));
        let value = match self.function {
            "rotate-postgres" => {
                tls_postgres().create_role(&user, &password).await;
                let mut secret = tls_postgres().secret(&user, &password);
                secret["host"] = json!("localhost");
                secret["ssl"] = json!(true);
                secret
            }
            "rotate-neo4j" => {
                neo4j().create_user(&user, &password).await;
                neo4j().secret(&user, &password)
            }
            _ => json!({}),
        };
        sm.create(&unique("bench"), &value.to_string()).await
    }

    fn start(&self, proxy: &str) -> RunningFunction {
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.push(("AWS_ENDPOINT_URL_SECRETS_MANAGER", proxy));
        RunningFunction::start(self.function, &env)
    }
}

/// One rotation of `secret` by `function`, measured.
async fn rotate(
    sm: &SecretsManager,
    function: &RunningFunction,
    proxy: &str,
    secret: &str,
) -> Rotation {
    sm.rotate_with(secret, &function.arn)
        .await
        .unwrap_or_else(|e| panic!("{e}\n--- log ---\n{}", function.log()));
    let timings = moto().timings(&function.arn);
    let calls = moto().proxied_calls(proxy);
    let invocations: Vec<&Invocation> = timings.invocations.iter().collect();
    assert_eq!(
        invocations
            .iter()
            .map(|i| i.step.as_str())
            .collect::<Vec<_>>(),
        Step::ALL.map(Step::as_str),
        "one invocation per step"
    );
    assert!(invocations.iter().all(|i| i.ok));
    let mut steps_ms = [0.0; 4];
    let mut trips = 0;
    for (slot, invocation) in steps_ms.iter_mut().zip(&invocations) {
        *slot = (invocation.answered - invocation.delivered) * 1000.0;
        let in_step: Vec<&ProxiedCall> = calls
            .iter()
            .filter(|c| c.start >= invocation.delivered && c.end <= invocation.answered)
            .collect();
        trips += round_trips(&in_step);
    }
    let started = function
        .started
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    Rotation {
        init_ms: timings.ready.map(|ready| (ready - started) * 1000.0),
        steps_ms,
        calls: calls.len(),
        round_trips: trips,
    }
}

async fn cold(sm: &SecretsManager, subject: &Subject, proxy: &str, latency_ms: u64) -> Series {
    let secret = subject.secret(sm).await;
    let mut rotations = Vec::new();
    let mut peak_rss_kib = 0;
    for _ in 0..rotation_count() {
        let function = subject.start(proxy);
        rotations.push(rotate(sm, &function, proxy, &secret).await);
        peak_rss_kib = peak_rss_kib.max(function.peak_rss_kib());
    }
    Series {
        function: subject.function,
        latency_ms,
        cold: true,
        rotations,
        peak_rss_kib,
    }
}

async fn warm(sm: &SecretsManager, subject: &Subject, proxy: &str, latency_ms: u64) -> Series {
    let secret = subject.secret(sm).await;
    let function = subject.start(proxy);
    // The cold one, not counted here.
    rotate(sm, &function, proxy, &secret).await;
    let mut rotations = Vec::new();
    for _ in 0..rotation_count() {
        let mut rotation = rotate(sm, &function, proxy, &secret).await;
        rotation.init_ms = None;
        rotations.push(rotation);
    }
    Series {
        function: subject.function,
        latency_ms,
        cold: false,
        rotations,
        peak_rss_kib: function.peak_rss_kib(),
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or("?".into(), |kib| format!("{} GiB", kib / 1024 / 1024));
    format!(
        "{cpu}, {cores} cores, {memory}, Linux {}",
        command_output("uname", &["-r"])
    )
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / 1024.0 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn report(series: &[Series]) -> String {
    let root = workspace_root();
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty =
        !command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let zip_arch = std::env::var("BENCH_ZIP_ARCH").unwrap_or_else(|_| "arm64".into());
    let mut out = String::new();
    writeln!(out, "# Benchmark results\n").unwrap();
    writeln!(
        out,
        "Written by `make bench` on {date}, commit `{commit}`{}, on {}.\n",
        if dirty { " with local changes" } else { "" },
        machine()
    )
    .unwrap();
    writeln!(
        out,
        "Each function is its {} release binary behind the Lambda Runtime API (moto); \
         RotateSecret drives the four steps; every Secrets Manager call passes a proxy that \
         holds it for the latency shown. PostgreSQL (SCRAM, verify-full TLS), Neo4j (Bolt) \
         and moto run on the same machine. Times in milliseconds, median / p95 over \
         {} rotations: a step runs from the event being handed over to the answer \
         arriving; a rotation is its four steps. Cold: the first rotation of a new process; \
         warm: later ones in the same process. Round trips are sequential Secrets Manager calls \
         (calls in flight together count once), counted at {COUNTED_AT_MS} ms where they \
         visibly overlap. Percentiles are nearest-rank (the median of an even count is the \
         lower middle value).\n",
        std::env::consts::ARCH,
        rotation_count()
    )
    .unwrap();
    writeln!(
        out,
        "| function | latency | run | init | createSecret | setSecret | testSecret | finishSecret | rotation | calls | round trips | peak RSS |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|").unwrap();
    for s in series {
        let column = |f: &dyn Fn(&Rotation) -> f64| median_p95(s.rotations.iter().map(f).collect());
        let calls = s.rotations.iter().map(|r| r.calls).max().unwrap_or(0);
        let trips = s.rotations.iter().map(|r| r.round_trips).max().unwrap_or(0);
        writeln!(
            out,
            "| {} | {} ms | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} MB |",
            s.function,
            s.latency_ms,
            if s.cold { "cold" } else { "warm" },
            median_p95(s.rotations.iter().filter_map(|r| r.init_ms).collect()),
            column(&|r| r.steps_ms[0]),
            column(&|r| r.steps_ms[1]),
            column(&|r| r.steps_ms[2]),
            column(&|r| r.steps_ms[3]),
            column(&Rotation::total_ms),
            calls,
            if s.latency_ms == COUNTED_AT_MS {
                trips.to_string()
            } else {
                "–".into()
            },
            s.peak_rss_kib as f64 * 1024.0 / 1_000_000.0,
        )
        .unwrap();
    }
    writeln!(
        out,
        "\n| function | release binary ({}) | Lambda zip ({zip_arch}) |",
        std::env::consts::ARCH
    )
    .unwrap();
    writeln!(out, "|---|---|---|").unwrap();
    let mut zips = Vec::new();
    for function in FUNCTIONS {
        let binary = std::fs::metadata(root.join("target/release").join(function))
            .map(|m| m.len())
            .unwrap_or(0);
        let zip_path = root.join(format!("target/lambda/{function}/bootstrap.zip"));
        let zip = std::fs::metadata(&zip_path).map(|m| m.len()).ok();
        zips.push(zip);
        writeln!(
            out,
            "| {function} | {} | {} |",
            mib(binary),
            zip.map_or("not built (`make package`)".into(), mib)
        )
        .unwrap();
    }

    let cold_at_zero: Vec<&Series> = series
        .iter()
        .filter(|s| s.cold && s.latency_ms == 0)
        .collect();
    let init_ok = cold_at_zero.iter().all(|s| {
        let mut inits: Vec<f64> = s.rotations.iter().filter_map(|r| r.init_ms).collect();
        !inits.is_empty() && percentile(&mut inits, 50.0) <= MAX_INIT_MS
    });
    let rss_ok = series.iter().all(|s| s.peak_rss_kib <= MAX_RSS_KIB);
    let calls_ok = series
        .iter()
        .all(|s| s.rotations.iter().all(|r| r.calls <= MAX_CALLS));
    let trips_ok = series
        .iter()
        .filter(|s| s.latency_ms == COUNTED_AT_MS)
        .all(|s| s.rotations.iter().all(|r| r.round_trips <= MAX_ROUND_TRIPS));
    let zips_ok = zips.iter().all(|z| z.is_some_and(|z| z <= MAX_ZIP_BYTES));
    writeln!(out, "\n| goal | result |\n|---|---|").unwrap();
    for (goal, ok) in [
        ("each Lambda zip ≤ 3.5 MiB".to_owned(), zips_ok),
        (
            format!("cold init ≤ {MAX_INIT_MS} ms (median, 0 ms latency)"),
            init_ok,
        ),
        ("peak RSS ≤ 14 MB".to_owned(), rss_ok),
        (
            format!("≤ {MAX_CALLS} Secrets Manager calls per rotation"),
            calls_ok,
        ),
        (
            format!("≤ {MAX_ROUND_TRIPS} sequential round trips per rotation"),
            trips_ok,
        ),
    ] {
        writeln!(out, "| {goal} | {} |", verdict(ok)).unwrap();
    }
    out
}

#[tokio::main]
async fn main() {
    install_crypto_provider();
    let sm = SecretsManager::connect().await;
    let mut series = Vec::new();
    for function in FUNCTIONS {
        let subject = Subject::new(function);
        for latency_ms in LATENCIES_MS {
            let proxy = moto().latency_proxy(latency_ms);
            eprintln!("{function}, {latency_ms} ms per Secrets Manager call: cold rotations");
            series.push(cold(&sm, &subject, &proxy, latency_ms).await);
            eprintln!("{function}, {latency_ms} ms per Secrets Manager call: warm rotations");
            series.push(warm(&sm, &subject, &proxy, latency_ms).await);
        }
    }
    let report = report(&series);
    let path = workspace_root().join("bench/RESULTS.md");
    std::fs::create_dir_all(path.parent().unwrap()).expect("create bench/");
    std::fs::write(&path, &report).expect("write bench/RESULTS.md");
    println!("{report}");
    eprintln!("written to {}", Path::new("bench/RESULTS.md").display());
}
