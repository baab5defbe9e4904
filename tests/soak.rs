//! `make soak`: many secrets rotated at once, as a schedule that comes due for a whole fleet
//! does. 200 PostgreSQL roles on one cluster and 50 Neo4j users on one server each get a
//! secret; Secrets Manager's RotateSecret drives every rotation through a small pool of
//! function processes (the release binaries behind the Lambda Runtime API), a bounded number
//! at a time. A rotation that fails is retried as the service retries it: the whole rotation
//! again, same token. Then every secret is checked against the no-credential-lost invariant.
//!
//! Prints wall time, per-step p50/p99, the functions' peak memory, failures and retries, and
//! credentials lost. `SOAK_POSTGRES` and `SOAK_NEO4J` change the counts.

use std::sync::Arc;
use std::time::Instant;

use integration_tests::{
    Invocation, Phase, RunningFunction, SecretsManager, assert_no_credential_lost,
    install_crypto_provider, moto, neo4j, postgres, unique, version_with_stage,
};
use rotation_core::Step;
use tokio::sync::Mutex;

/// Function processes per engine: the concurrency of the run, which this machine can hold.
const PROCESSES: usize = 4;
/// Attempts per rotation: the first, and Secrets Manager's retries.
const ATTEMPTS: usize = 3;

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Postgres,
    Neo4j,
}

impl Engine {
    fn label(self) -> &'static str {
        match self {
            Self::Postgres => "PostgreSQL",
            Self::Neo4j => "Neo4j",
        }
    }
}

struct Outcome {
    failures: usize,
    retries_healed: usize,
}

/// Rotates every secret in `arns` through `functions`, one rotation per free process.
async fn rotate_all(
    sm: &SecretsManager,
    arns: &[String],
    functions: &[RunningFunction],
) -> Outcome {
    let free = Arc::new(Mutex::new((0..functions.len()).collect::<Vec<_>>()));
    let available = Arc::new(tokio::sync::Semaphore::new(functions.len()));
    let mut tasks = Vec::new();
    for arn in arns {
        let permit = available.clone().acquire_owned().await.unwrap();
        let index = free.lock().await.pop().unwrap();
        let (sm, arn, free) = (sm.clone(), arn.clone(), free.clone());
        let function_arn = functions[index].arn.clone();
        tasks.push(tokio::spawn(async move {
            let result = sm.rotate_with(&arn, &function_arn).await;
            free.lock().await.push(index);
            drop(permit);
            (arn, result)
        }));
    }
    let mut failed = Vec::new();
    for task in tasks {
        let (arn, result) = task.await.unwrap();
        if let Err(err) = result {
            eprintln!("rotation of {arn} failed (retried): {err}");
            failed.push(arn);
        }
    }
    let failures = failed.len();
    let mut retries_healed = 0;
    for arn in failed {
        let token = pending_token(sm, &arn).await;
        let mut healed = false;
        for _ in 1..ATTEMPTS {
            if functions[0].retry(&arn, &token).await.is_ok() {
                sm.complete_rotation(&arn, &token).await;
                healed = true;
                break;
            }
        }
        assert!(healed, "{arn}: every retry failed");
        retries_healed += 1;
    }
    Outcome {
        failures,
        retries_healed,
    }
}

async fn pending_token(sm: &SecretsManager, arn: &str) -> String {
    version_with_stage(&sm.stages(arn).await, rotation_core::AWSPENDING)
        .expect("a failed rotation leaves AWSPENDING")
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Per step: p50 and p99 in milliseconds, from delivery of the event to the answer.
fn step_figures(invocations: &[Invocation]) -> Vec<(Step, f64, f64, usize)> {
    Step::ALL
        .into_iter()
        .filter_map(|step| {
            let mut ms: Vec<f64> = invocations
                .iter()
                .filter(|i| i.step == step.as_str())
                .map(|i| (i.answered - i.delivered) * 1000.0)
                .collect();
            (!ms.is_empty()).then(|| {
                let n = ms.len();
                (
                    step,
                    percentile(&mut ms, 50.0),
                    percentile(&mut ms, 99.0),
                    n,
                )
            })
        })
        .collect()
}

async fn soak(sm: &SecretsManager, engine: Engine, n: usize) -> String {
    println!("{}: creating {n} users and secrets", engine.label());
    let mut arns = Vec::with_capacity(n);
    for _ in 0..n {
        let user = unique("soak");
        let password = format!("initial-{}", unique("pw"));
        let secret = match engine {
            Engine::Postgres => {
                postgres().create_role(&user, &password).await;
                postgres().secret(&user, &password)
            }
            Engine::Neo4j => {
                neo4j().create_user(&user, &password).await;
                neo4j().secret(&user, &password)
            }
        };
        arns.push(sm.create(&unique("soak"), &secret.to_string()).await);
    }
    let functions: Vec<RunningFunction> = (0..PROCESSES)
        .map(|_| match engine {
            Engine::Postgres => {
                RunningFunction::start("rotate-postgres", &[("PGSSLMODE", "disable")])
            }
            Engine::Neo4j => RunningFunction::start("rotate-neo4j", &[]),
        })
        .collect();
    let started = Instant::now();
    let outcome = rotate_all(sm, &arns, &functions).await;
    let wall = started.elapsed();
    let mut invocations = Vec::new();
    for function in &functions {
        invocations.extend(moto().timings(&function.arn).invocations);
    }
    let peak_kib = functions
        .iter()
        .map(RunningFunction::peak_rss_kib)
        .max()
        .unwrap();

    for arn in &arns {
        match engine {
            Engine::Postgres => {
                assert_no_credential_lost(sm, arn, postgres(), Phase::Settled).await
            }
            Engine::Neo4j => assert_no_credential_lost(sm, arn, neo4j(), Phase::Settled).await,
        }
    }
    let mut report = format!(
        "{}: {n} secrets rotated in {:.1} s by {PROCESSES} function processes at once\n",
        engine.label(),
        wall.as_secs_f64()
    );
    report += &format!(
        "  failed rotations: {} (healed by the retry: {}); credentials lost: 0 (every secret checked)\n",
        outcome.failures, outcome.retries_healed
    );
    report += &format!(
        "  peak RSS of a function process: {:.1} MB\n",
        peak_kib as f64 * 1024.0 / 1e6
    );
    report += &format!(
        "  {:<14} {:>9} {:>9} {:>7}\n",
        "step", "p50 ms", "p99 ms", "count"
    );
    for (step, p50, p99, count) in step_figures(&invocations) {
        report += &format!("  {:<14} {p50:>9.1} {p99:>9.1} {count:>7}\n", step.as_str());
    }
    report
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    install_crypto_provider();
    let sm = SecretsManager::connect().await;
    let started = Instant::now();
    // Both fleets at once, on one moto, as one schedule coming due.
    let (postgres, neo4j) = tokio::join!(
        soak(&sm, Engine::Postgres, count("SOAK_POSTGRES", 200)),
        soak(&sm, Engine::Neo4j, count("SOAK_NEO4J", 50)),
    );
    print!("{postgres}{neo4j}");
    println!("soak done in {:.1} s", started.elapsed().as_secs_f64());
}
