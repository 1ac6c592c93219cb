//! Index-based graph plumbing for the resolver: compact adjacency lists and an iterative
//! Tarjan. Invariant: nothing here recurses, so depth is bounded by the heap, not the stack.

/// Adjacency lists packed into two vectors (compressed sparse rows): one allocation for the
/// whole graph instead of one per node, which matters at 10,000 nodes per resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Csr {
    start: Vec<usize>,
    to: Vec<usize>,
}

impl Csr {
    /// Builds the lists of `n` rows from `(row, target)` pairs. Each row keeps the order in
    /// which its pairs were given, so sorted input gives sorted rows.
    pub(crate) fn build(n: usize, pairs: impl Iterator<Item = (usize, usize)> + Clone) -> Csr {
        let mut start = vec![0; n + 1];
        for (row, _) in pairs.clone() {
            start[row + 1] += 1;
        }
        let mut acc = 0;
        for it in &mut start {
            acc += *it;
            *it = acc;
        }
        let mut fill = start.clone();
        let mut to = vec![0; acc];
        for (row, target) in pairs {
            to[fill[row]] = target;
            fill[row] += 1;
        }
        Csr { start, to }
    }

    pub(crate) fn of(&self, row: usize) -> &[usize] {
        &self.to[self.start[row]..self.start[row + 1]]
    }

    pub(crate) fn of_mut(&mut self, row: usize) -> &mut [usize] {
        &mut self.to[self.start[row]..self.start[row + 1]]
    }

    pub(crate) fn rows(&self) -> usize {
        self.start.len() - 1
    }
}

/// Strongly connected components of `graph`, as `(component of each node, count)`.
///
/// Components are numbered in the order Tarjan completes them, which is reverse topological
/// order along the edges: if any edge leads from component `a` to component `b != a`, then
/// `b < a`. With edges pointing at prerequisites, ascending numbers therefore visit
/// prerequisites first, which is what layering needs.
///
/// The explicit `call` stack replaces recursion: each frame is a node and the position of the
/// next edge to explore.
pub(crate) fn components(graph: &Csr) -> (Vec<usize>, usize) {
    const UNSEEN: usize = usize::MAX;
    let n = graph.rows();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut comp = vec![0; n];
    let mut stack = Vec::new();
    let mut call: Vec<(usize, usize)> = Vec::new();
    let mut next_index = 0;
    let mut n_comps = 0;

    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        call.push((root, 0));

        while let Some(frame) = call.last_mut() {
            let v = frame.0;
            if let Some(&w) = graph.of(v).get(frame.1) {
                frame.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = n_comps;
                    if w == v {
                        break;
                    }
                }
                n_comps += 1;
            }
        }
    }
    (comp, n_comps)
}
