//! `cargo bench -p flow-resolver`: times `resolve` on 10,000 features with 30,000 random edges
//! (the target is a median of at most 20 ms, so the board re-resolves on every change).
//! Invariant: the input is the same on every run and machine (a fixed-seed xorshift).
#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use flow_resolver::{Edge, Node, Status, resolve};

const NODES: u64 = 10_000;
const EDGES: usize = 30_000;
const RUNS: usize = 21;

/// Marsaglia's xorshift64: enough randomness for a benchmark input, no dependency.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn input(acyclic: bool) -> (Vec<Node<u64>>, Vec<Edge<u64>>) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let statuses = [
        Status::Pending,
        Status::Pending,
        Status::Done,
        Status::Done,
        Status::InProgress,
    ];
    let nodes = (0..NODES)
        .map(|id| Node {
            id,
            status: statuses[rng.below(statuses.len() as u64) as usize],
            priority: rng.below(10) as i64,
            tiebreak: id as i64,
        })
        .collect();
    let mut edges = Vec::with_capacity(EDGES);
    while edges.len() < EDGES {
        let (a, b) = (rng.below(NODES), rng.below(NODES));
        if a == b {
            continue;
        }
        // Acyclic: the larger id depends on the smaller, as features created later tend to.
        let (dependent, prerequisite) = if acyclic {
            (a.max(b), a.min(b))
        } else {
            (a, b)
        };
        edges.push(Edge::new(dependent, prerequisite));
    }
    (nodes, edges)
}

fn bench(name: &str, acyclic: bool) {
    let (nodes, edges) = input(acyclic);
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(resolve(black_box(&nodes), black_box(&edges)));
            start.elapsed()
        })
        .collect();
    times.sort();
    let plan = resolve(&nodes, &edges);
    // The single-feature view walks on demand; time the deepest node, the worst case.
    let deepest = plan
        .nodes()
        .iter()
        .max_by_key(|it| it.layer)
        .map_or(0, |it| it.id);
    let start = Instant::now();
    let roots = black_box(plan.root_blockers(&deepest)).len();
    let walk = start.elapsed();
    println!(
        "{name}: {NODES} nodes, {EDGES} edges, {RUNS} runs: min {:.2} ms, median {:.2} ms \
         ({} ready, {} cycles, largest {}); root_blockers of {deepest}: {roots} in {walk:?}",
        times[0].as_secs_f64() * 1e3,
        times[RUNS / 2].as_secs_f64() * 1e3,
        plan.ready().len(),
        plan.cycles().len(),
        plan.cycles().iter().map(Vec::len).max().unwrap_or(0),
    );
}

fn main() {
    bench("resolve, acyclic", true);
    bench("resolve, random (cycles)", false);
}
