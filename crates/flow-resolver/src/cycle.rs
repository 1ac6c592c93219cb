//! [`would_create_cycle`]: the check every dependency write runs before it changes anything.
//! Invariant: the path returned is a shortest one, chosen by id order when several tie.

use std::collections::{BTreeMap, VecDeque};

use crate::Edge;

/// If adding "`from` depends on `to`" to `edges` would close a cycle, returns it as a path
/// `[from, to, …, from]` where each id depends on the next, ready to report as
/// `{"code":"dependency_cycle","cycle":[…]}`. A self edge gives `[from, from]`.
///
/// Only cycles through the new edge count: a cycle already in `edges` is the resolver's to
/// report, not a reason to refuse an unrelated write.
///
/// ```
/// use flow_resolver::{Edge, would_create_cycle};
///
/// let edges = [Edge::new(7, 3)]; // 7 depends on 3
/// assert_eq!(would_create_cycle(&edges, &3, &7), Some(vec![3, 7, 3]));
/// assert_eq!(would_create_cycle(&edges, &5, &5), Some(vec![5, 5]));
/// assert_eq!(would_create_cycle(&edges, &7, &5), None);
/// ```
pub fn would_create_cycle<Id: Clone + Ord>(
    edges: &[Edge<Id>],
    from: &Id,
    to: &Id,
) -> Option<Vec<Id>> {
    if from == to {
        return Some(vec![from.clone(), from.clone()]);
    }
    // Sorted pairs double as adjacency lists whose targets come in id order.
    let mut adj: Vec<(&Id, &Id)> = edges
        .iter()
        .map(|e| (&e.dependent, &e.prerequisite))
        .collect();
    adj.sort_unstable();
    adj.dedup();

    // Breadth first from `to` along prerequisites, looking for `from`.
    let mut parent: BTreeMap<&Id, &Id> = BTreeMap::from([(to, to)]);
    let mut queue = VecDeque::from([to]);
    while let Some(v) = queue.pop_front() {
        let first = adj.partition_point(|&(d, _)| d < v);
        for &(_, p) in adj[first..].iter().take_while(|&&(d, _)| d == v) {
            if parent.contains_key(p) {
                continue;
            }
            parent.insert(p, v);
            if p == from {
                let mut back = vec![from.clone()];
                let mut at = from;
                while at != to {
                    at = parent[at];
                    back.push(at.clone());
                }
                back.push(from.clone());
                back.reverse();
                return Some(back);
            }
            queue.push_back(p);
        }
    }
    None
}
