//! Test fixtures shared by the results modules: a comparison and a bench run whose figures the
//! tests name.

use crate::machine::Machine;
use crate::results::{Bench, BenchRow, Comparison, FixedRun, Role, SearchStop, ServerRun};

pub(crate) fn run(server: &str, cpu_s: f64, completed: u64) -> ServerRun {
    ServerRun {
        server: server.to_owned(),
        setup: "x".to_owned(),
        rate: 1999.4,
        solicits: 40_000,
        completed,
        drops_solicit: 3,
        drops_request: 1,
        avg_delay_ms: (0.2, 0.25),
        cpu_s,
        wall_s: 20.0,
        stored_na: 17_000,
        threads: vec![("worker".to_owned(), 1.5), ("main".to_owned(), 0.5)],
    }
}

pub(crate) fn comparison() -> Comparison {
    Comparison {
        machine: Machine {
            nproc: 2,
            cpu_model: "Test CPU".to_owned(),
            kernel: "6.1.0".to_owned(),
            date_utc: "2026-11-26T23:00:00Z".to_owned(),
            load_average: "0.10 0.20 0.30".to_owned(),
        },
        perfdhcp: "perfdhcp -6 -l cli0 -r 2000".to_owned(),
        command: "cargo xtask compare".to_owned(),
        source: "d44060b-dirty".to_owned(),
        runs: vec![
            run("tandemd (durable)", 2.0, 40_000),
            run("Kea", 8.0, 40_000),
            run("dead", 1.0, 0),
        ],
        baseline: "Kea".to_owned(),
    }
}

pub(crate) fn bench_row(
    role: Role,
    server: &str,
    max: Option<u32>,
    cpu_s: f64,
    p99: f64,
) -> BenchRow {
    BenchRow {
        server: server.to_owned(),
        role,
        setup: "s".to_owned(),
        datapath: "XDP native".to_owned(),
        max_rate: max,
        stop: Some(SearchStop::Loss {
            rate: 2.0 * f64::from(max.unwrap_or(1)),
            loss: 0.05,
        }),
        fixed: Some(FixedRun {
            offered_rate: 2000.0,
            achieved_rate: 2000.0,
            completed: 20_000,
            loss: 0.0005,
            p99_advertise_us: Some(p99),
            p99_reply_us: Some(p99 * 2.0),
            cpu_s,
            wall_s: 10.5,
            threads: vec![("tandem-w0".to_owned(), cpu_s)],
            owner_share: (role != Role::Kea).then_some(0.9995),
        }),
        perfdhcp: Some(run(server, cpu_s * 2.0, 20_000)),
        pair: None,
    }
}

pub(crate) fn bench() -> Bench {
    Bench {
        machine: comparison().machine,
        command: "cargo xtask bench --servers kea,tandem-durable,tandem-os-buffer".to_owned(),
        source: "abc1234".to_owned(),
        fixed_rate: 2000,
        fixed_rate_is_half_kea: true,
        search: "tandem-bench --search".to_owned(),
        generator: "tandem-bench --rate 2000".to_owned(),
        perfdhcp: "perfdhcp -6 -r 2000".to_owned(),
        rows: vec![
            // Kea: 4000/s, 100 µs per exchange (2 s over 20000).
            bench_row(Role::Kea, "Kea", Some(4000), 2.0, 900.0),
            // Durable: 64000/s = 16×, 6 µs = 0.06×, p99 150 µs.
            bench_row(
                Role::TandemDurable,
                "tandemd (durable)",
                Some(64_000),
                0.12,
                150.0,
            ),
            // OS-buffer: 80000/s; durable is 80 % of it.
            bench_row(
                Role::TandemOsBuffer,
                "tandemd (os-buffer)",
                Some(80_000),
                0.1,
                90.0,
            ),
        ],
        plots: vec!["bench-x-kea.svg".to_owned()],
        store: None,
    }
}
