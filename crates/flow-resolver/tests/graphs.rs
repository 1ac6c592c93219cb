//! Properties of the resolver on generated graphs, checked against simple reference
//! implementations, and its behaviour at scale (100,000-node chains and cycles must not
//! overflow the stack).

use std::collections::BTreeSet;

use flow_resolver::{Edge, Node, Plan, State, Status, resolve, would_create_cycle};
use proptest::prelude::*;
use proptest::sample::Index;

const STATUSES: [Status; 6] = [
    Status::Pending,
    Status::InProgress,
    Status::Review,
    Status::NeedsInput,
    Status::Done,
    Status::Cancelled,
];

/// A graph on ids `0..n`; edges may name up to two missing ids (`n`, `n + 1`) and may repeat.
#[derive(Debug, Clone)]
struct Graph {
    n: u32,
    nodes: Vec<Node<u32>>,
    edges: Vec<Edge<u32>>,
}

impl Graph {
    /// The edges between existing nodes, as (dependent, prerequisite) pairs.
    fn pairs(&self) -> Vec<(u32, u32)> {
        let present = |it: &Edge<u32>| it.dependent < self.n && it.prerequisite < self.n;
        self.edges
            .iter()
            .filter(|it| present(it))
            .map(|it| (it.dependent, it.prerequisite))
            .collect()
    }

    /// `reach[u][v]`: a path of at least one edge leads from `u` to `v`.
    fn reach(&self) -> Vec<Vec<bool>> {
        let n = self.n as usize;
        let pairs = self.pairs();
        (0..n)
            .map(|start| {
                let mut seen = vec![false; n];
                let mut stack = vec![start];
                while let Some(v) = stack.pop() {
                    for &(d, p) in &pairs {
                        if d as usize == v && !seen[p as usize] {
                            seen[p as usize] = true;
                            stack.push(p as usize);
                        }
                    }
                }
                seen
            })
            .collect()
    }

    /// Cycles by definition: nodes on a common closed path, grouped, sorted.
    fn reference_cycles(&self) -> Vec<Vec<u32>> {
        let reach = self.reach();
        let mut cycles = BTreeSet::new();
        for (u, from_u) in reach.iter().enumerate() {
            if from_u[u] {
                let scc = (0..self.n)
                    .filter(|&v| v as usize == u || from_u[v as usize] && reach[v as usize][u]);
                cycles.insert(scc.collect::<Vec<u32>>());
            }
        }
        cycles.into_iter().collect()
    }
}

fn graph(max_nodes: u32, acyclic: bool) -> impl Strategy<Value = Graph> {
    (1..=max_nodes).prop_flat_map(move |n| {
        let node = (0..STATUSES.len(), -2..3i64, 0..2i64);
        let edge = (0..n + 2, 0..n + 2);
        (
            prop::collection::vec(node, n as usize),
            prop::collection::vec(edge, 0..3 * n as usize),
        )
            .prop_map(move |(nodes, edges)| {
                let nodes = nodes
                    .into_iter()
                    .zip(0..)
                    .map(|((s, priority, tiebreak), id)| Node {
                        id,
                        status: STATUSES[s],
                        priority,
                        tiebreak,
                    })
                    .collect();
                let edges = edges
                    .into_iter()
                    .filter_map(|(a, b)| match acyclic {
                        // Pointing every edge at a smaller id rules out cycles.
                        true if a < n && b < n && a != b => Some(Edge::new(a.max(b), a.min(b))),
                        true => None,
                        false => Some(Edge::new(a, b)),
                    })
                    .collect();
                Graph { n, nodes, edges }
            })
    })
}

fn position(plan: &Plan<u32>) -> Vec<usize> {
    let mut pos = vec![usize::MAX; plan.nodes().len()];
    for (i, &id) in plan.order().iter().enumerate() {
        pos[id as usize] = i;
    }
    pos
}

proptest! {
    // Shrunk failures are printed; no regression files are written into the source tree.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(512) })]

    #[test]
    fn set_status_matches_resolving_again(
        g in graph(30, false),
        changes in prop::collection::vec((any::<Index>(), 0..STATUSES.len()), 1..6),
    ) {
        let mut plan = resolve(&g.nodes, &g.edges);
        let mut nodes = g.nodes.clone();
        for (at, s) in changes {
            let i = at.index(nodes.len());
            nodes[i].status = STATUSES[s];
            let before = plan.clone();
            let flipped = plan.set_status(&nodes[i].id, STATUSES[s]);
            let again = resolve(&nodes, &g.edges);
            prop_assert_eq!(&plan, &again);
            let expected: Vec<u32> = again
                .nodes()
                .iter()
                .filter(|n| before.node(&n.id).map(|b| b.state) != Some(n.state))
                .map(|n| n.id)
                .collect();
            prop_assert_eq!(flipped, Some(expected), "the ids whose state changed");
        }
        prop_assert!(plan.set_status(&(g.n + 7), Status::Done).is_none());
    }

    #[test]
    fn order_respects_every_edge_of_a_dag(g in graph(40, true)) {
        let plan = resolve(&g.nodes, &g.edges);
        let mut sorted = plan.order().to_vec();
        sorted.sort();
        prop_assert_eq!(sorted, (0..g.n).collect::<Vec<_>>());
        let pos = position(&plan);
        for (d, p) in g.pairs() {
            prop_assert!(pos[p as usize] < pos[d as usize], "{p} must precede {d}");
        }
        prop_assert!(plan.cycles().is_empty());
    }

    #[test]
    fn cycles_are_exactly_the_strongly_connected_components(g in graph(30, false)) {
        let plan = resolve(&g.nodes, &g.edges);
        let expected = g.reference_cycles();
        prop_assert_eq!(plan.cycles(), &expected[..]);
        let cyclic: BTreeSet<u32> = expected.iter().flatten().copied().collect();
        for node in plan.nodes() {
            prop_assert_eq!(node.in_cycle, cyclic.contains(&node.id));
            let settled = matches!(node.status, Status::Done | Status::Cancelled | Status::NeedsInput);
            prop_assert_eq!(node.state == State::Cycle, node.in_cycle && !settled);
        }
        // Edges inside a cycle cannot be honoured; every other edge still is.
        let reach = g.reach();
        let pos = position(&plan);
        for (d, p) in g.pairs() {
            if !(reach[d as usize][p as usize] && reach[p as usize][d as usize]) {
                prop_assert!(pos[p as usize] < pos[d as usize], "{p} must precede {d}");
            }
        }
    }

    #[test]
    fn ready_nodes_have_every_prerequisite_done(g in graph(30, false)) {
        let plan = resolve(&g.nodes, &g.edges);
        let done = |id: u32| id < g.n && g.nodes[id as usize].status == Status::Done;
        for &id in plan.ready() {
            prop_assert_eq!(g.nodes[id as usize].status, Status::Pending);
            for e in g.edges.iter().filter(|e| e.dependent == id) {
                prop_assert!(done(e.prerequisite), "{id} is ready but waits for {}", e.prerequisite);
            }
        }
        let by_state: Vec<u32> =
            plan.order().iter().copied().filter(|&id| plan.node(&id).unwrap().state == State::Ready).collect();
        prop_assert_eq!(plan.ready(), &by_state[..]);
        for node in plan.nodes() {
            for root in plan.root_blockers(&node.id) {
                if let Some(it) = plan.node(&root) {
                    prop_assert!(it.status != Status::Done);
                    prop_assert!(it.in_cycle || it.blocked_by.is_empty());
                }
            }
        }
    }

    #[test]
    fn shuffled_input_gives_the_same_plan(
        (g, nodes, edges) in graph(30, false).prop_flat_map(|g| {
            let nodes = Just(g.nodes.clone()).prop_shuffle();
            let edges = Just(g.edges.clone()).prop_shuffle();
            (Just(g), nodes, edges)
        }),
    ) {
        prop_assert_eq!(resolve(&nodes, &edges), resolve(&g.nodes, &g.edges));
    }

    #[test]
    fn would_create_cycle_agrees_with_resolve(g in graph(20, false), from in any::<Index>(), to in any::<Index>()) {
        let (from, to) = (from.index(g.n as usize) as u32, to.index(g.n as usize) as u32);
        // Unlike `resolve`, `would_create_cycle` has no node list: ids in edges are its nodes.
        let present: Vec<Edge<u32>> = g.pairs().into_iter().map(|(d, p)| Edge::new(d, p)).collect();
        let path = would_create_cycle(&present, &from, &to);
        if from == to {
            prop_assert_eq!(path, Some(vec![from, from]));
            return Ok(());
        }
        let mut edges = present.clone();
        edges.push(Edge::new(from, to));
        let after = resolve(&g.nodes, &edges);
        let closes = after.cycles().iter().any(|c| c.contains(&from) && c.contains(&to));
        prop_assert_eq!(path.is_some(), closes);
        if let Some(path) = path {
            prop_assert_eq!((path[0], path[1], path[path.len() - 1]), (from, to, from));
            for step in path[1..].windows(2) {
                prop_assert!(present.contains(&Edge::new(step[0], step[1])), "no edge {:?}", step);
            }
        }
    }
}

#[test]
fn a_chain_of_100_000_resolves_without_recursion() {
    let n = 100_000u32;
    let nodes: Vec<Node<u32>> = (0..n).map(|id| Node::new(id, Status::Pending)).collect();
    let edges: Vec<Edge<u32>> = (1..n).map(|id| Edge::new(id, id - 1)).collect();
    let plan = resolve(&nodes, &edges);
    assert_eq!(plan.order(), (0..n).collect::<Vec<_>>());
    assert_eq!(plan.ready(), [0]);
    assert_eq!(plan.node(&(n - 1)).map(|it| it.layer), Some(n as usize - 1));
    assert_eq!(plan.root_blockers(&(n - 1)), [0]);
    let path = would_create_cycle(&edges, &0, &(n - 1)).expect("closing the chain is a cycle");
    assert_eq!(path.len(), n as usize + 1);
}

#[test]
fn a_cycle_of_100_000_resolves_without_recursion() {
    let n = 100_000u32;
    let nodes: Vec<Node<u32>> = (0..n).map(|id| Node::new(id, Status::Pending)).collect();
    let edges: Vec<Edge<u32>> = (0..n).map(|id| Edge::new(id, (id + 1) % n)).collect();
    let plan = resolve(&nodes, &edges);
    assert_eq!(plan.cycles(), [(0..n).collect::<Vec<_>>()]);
    assert_eq!(plan.order(), (0..n).collect::<Vec<_>>());
    assert!(plan.ready().is_empty());
    assert!(
        plan.nodes()
            .iter()
            .all(|it| it.state == State::Cycle && it.layer == 0)
    );
    assert_eq!(plan.root_blockers(&0).len(), n as usize - 1);
}
