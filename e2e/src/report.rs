//! A suite of named cases that all run: each case's result is recorded and printed, and the
//! suite then fails naming every failed case (the data-plane and issuance suites).

use std::future::Future;
use std::time::Instant;

use anyhow::{Result, bail};

pub struct Report {
    suite: &'static str,
    results: Vec<(String, Option<String>)>,
}

impl Report {
    pub fn new(suite: &'static str) -> Report {
        Report {
            suite,
            results: Vec::new(),
        }
    }

    /// Runs one case; returns whether it passed.
    pub async fn case(&mut self, name: &str, f: impl Future<Output = Result<()>>) -> bool {
        eprintln!("=== {name}");
        let started = Instant::now();
        let result = f.await.err().map(|e| format!("{e:#}"));
        let ok = result.is_none();
        eprintln!(
            "=== {name}: {} in {:.1}s",
            if ok { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        self.results.push((name.to_owned(), result));
        ok
    }

    /// Prints every case's outcome; fails naming each failed case with its error.
    pub fn finish(self) -> Result<()> {
        eprintln!("\n{}:", self.suite);
        for (name, r) in &self.results {
            eprintln!("  {:<6} {name}", if r.is_none() { "ok" } else { "FAILED" });
        }
        let failed: Vec<String> = self
            .results
            .into_iter()
            .filter_map(|(name, r)| r.map(|e| format!("{name}: {e}")))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        bail!("{} case(s) failed:\n{}", failed.len(), failed.join("\n\n"))
    }
}
