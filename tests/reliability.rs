//! Makes the README's "Reliability" section from the rows the fault and hostile-input tests
//! recorded in this run (tests/harness/reliability.rs), so that what it claims is what the
//! tests did.
//!
//!   cargo run -p integration-tests --example reliability -- --write   rewrites the section
//!   cargo run -p integration-tests --example reliability -- --check   fails if it differs
//!
//! `--check` compares the table of faults survived, which the same tests always produce; of
//! the application-login table, which holds measured counts rewritten by `--write` only, it
//! checks the rows and that alternating users failed no login.

use std::collections::{BTreeMap, BTreeSet};

use integration_tests::reliability::{Survived, rows_file};
use integration_tests::workspace_root;

const FAULTS_START: &str = "<!-- reliability: faults (made by make reliability) -->";
const LOGINS_START: &str = "<!-- reliability: application logins (made by make reliability) -->";
const END: &str = "<!-- reliability: end -->";

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let path = rows_file();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no rows at {}: {e} (the fault tests write them; run `make reliability`)",
            path.display()
        )
    });
    let rows: Vec<Survived> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a row the tests recorded"))
        .collect();
    let readme_path = workspace_root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("read README.md");
    let faults = faults_table(&rows);
    match mode.as_str() {
        "--check" => {
            let shown = section(&readme, FAULTS_START);
            if shown.trim() != faults.trim() {
                eprintln!(
                    "README.md's reliability table is not what the tests did; run `make reliability`.\n\
                     --- README.md\n{shown}\n--- this run\n{faults}"
                );
                std::process::exit(1);
            }
            // The login counts are measured and change from run to run; what must not change
            // is who was measured, and that alternating users failed none.
            let shown = section(&readme, LOGINS_START);
            for row in rows.iter().filter(|r| r.app_logins.is_some()) {
                let logins = row.app_logins.unwrap();
                if row.subject.contains("alternating") && logins.failed != 0 {
                    eprintln!(
                        "{}: {} application logins failed",
                        row.subject, logins.failed
                    );
                    std::process::exit(1);
                }
                if !shown.contains(&format!("| {} | {} |", row.subject, row.point)) {
                    eprintln!(
                        "README.md's application-login table has no row for {} during {}; run `make reliability`",
                        row.subject, row.point
                    );
                    std::process::exit(1);
                }
            }
            let scenarios = rows.iter().filter(|r| r.app_logins.is_none()).count();
            println!(
                "reliability: {scenarios} fault scenarios survived, 0 credentials lost, README table up to date"
            );
        }
        "--write" => {
            let readme = replace(&readme, FAULTS_START, &faults);
            let readme = replace(&readme, LOGINS_START, &logins_table(&rows));
            std::fs::write(&readme_path, readme).expect("write README.md");
            println!(
                "README.md: reliability section rewritten from {}",
                path.display()
            );
        }
        _ => {
            eprintln!("usage: reliability --check | --write");
            std::process::exit(2);
        }
    }
}

/// One line per kind of fault: where it struck, what survived it, how many scenarios ran and
/// how many credentials were lost.
fn faults_table(rows: &[Survived]) -> String {
    let mut by_fault: BTreeMap<&str, Vec<&Survived>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.app_logins.is_none()) {
        by_fault.entry(&row.fault).or_default().push(row);
    }
    let mut table = String::from(
        "| Fault or input | Where it struck | Functions and strategies | Scenarios | Credentials lost |\n\
         |---|---|---|---:|---:|\n",
    );
    for (fault, rows) in by_fault {
        let points: BTreeSet<&str> = rows.iter().map(|r| r.point.as_str()).collect();
        let subjects: BTreeSet<&str> = rows.iter().map(|r| r.subject.as_str()).collect();
        let lost: u32 = rows.iter().map(|r| r.lost).sum();
        table.push_str(&format!(
            "| {fault} | {} | {} | {} | {lost} |\n",
            points.into_iter().collect::<Vec<_>>().join("; "),
            subjects.into_iter().collect::<Vec<_>>().join("; "),
            rows.len(),
        ));
    }
    table
}

fn logins_table(rows: &[Survived]) -> String {
    let mut table = String::from(
        "| Function and strategy | During | Application logins | Failed | Rotations retried |\n|---|---|---:|---:|---:|\n",
    );
    let mut measured: Vec<&Survived> = rows.iter().filter(|r| r.app_logins.is_some()).collect();
    measured.sort_by(|a, b| a.subject.cmp(&b.subject));
    for row in measured {
        let logins = row.app_logins.unwrap();
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.subject, row.point, logins.attempts, logins.failed, logins.retried_rotations
        ));
    }
    table
}

/// The text between `start` and the next END marker.
fn section<'a>(readme: &'a str, start: &str) -> &'a str {
    let from = readme
        .find(start)
        .unwrap_or_else(|| panic!("README.md has no {start:?} marker"))
        + start.len();
    let to = from + readme[from..].find(END).expect("an end marker");
    &readme[from..to]
}

fn replace(readme: &str, start: &str, body: &str) -> String {
    let old = section(readme, start);
    let from = readme.find(start).unwrap() + start.len();
    format!(
        "{}\n{}{}",
        &readme[..from],
        body,
        &readme[from + old.len()..]
    )
}
