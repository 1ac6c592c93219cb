//! [`resolve`] and the [`Plan`] it returns. Invariant: the plan depends only on the sets of
//! nodes and edges given, never on their order, and holds no reference to the input.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::graph::{Csr, components};
use crate::{Edge, Node, State, Status};

/// Everything the board derives from the dependency graph, computed once per change.
///
/// Ids in every list are sorted unless the list is an order (`order`, `ready`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<Id> {
    order: Vec<Id>,
    ready: Vec<Id>,
    cycles: Vec<Vec<Id>>,
    missing: Vec<Edge<Id>>,
    duplicates: Vec<Id>,
    /// Sorted by id, so that an id's position is also its index in `pre`.
    nodes: Vec<NodePlan<Id>>,
    /// Every prerequisite of every node (self edges excluded), kept so that
    /// [`Plan::root_blockers`] can walk on demand instead of for every node up front.
    pre: Csr,
    /// The reverse of `pre`, so [`Plan::set_status`] can reach the nodes a status touches.
    dependents: Csr,
    /// `order` as node indices, so `ready` can be refiltered without a lookup per node.
    order_idx: Vec<usize>,
    /// Which nodes have a self edge: they block themselves until done.
    self_edge: Vec<bool>,
}

/// What the resolver derived for one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlan<Id> {
    pub id: Id,
    pub status: Status,
    pub state: State,
    /// The direct prerequisites that are not done, missing ids included (an unknown
    /// prerequisite can never be met). Filled whatever the node's own status, so that a node
    /// completed with `force` still shows what it skipped.
    pub blocked_by: Vec<Id>,
    /// The dependents in state `blocked` whose only unmet prerequisite is this node: the ones
    /// completing it moves out of `blocked` (what the complete endpoint answers as `unblocked`).
    pub would_unblock: Vec<Id>,
    /// The length of the longest prerequisite chain below the node, for drawing the graph in
    /// columns: 0 for a node with no prerequisites. A cycle counts as one step: its members
    /// share a layer, one more than the deepest prerequisite outside it, and nodes behind it
    /// continue from there. Missing prerequisites add no depth, since they cannot be drawn.
    pub layer: usize,
    /// Whether the node is in a cycle (a strongly connected component of two or more nodes, or
    /// a self edge). Set even when the node is done, so the graph can mark the cycle whole.
    pub in_cycle: bool,
}

impl<Id: Clone + Ord> Plan<Id> {
    /// Every node once, prerequisites before dependents, otherwise most urgent first. A node is
    /// as urgent as the smallest `(priority, tiebreak)` of itself and everything that depends
    /// on it, directly or not; ties go to its own `(priority, tiebreak, id)`. So the
    /// prerequisites of urgent work come right before it, and a done prerequisite never holds
    /// its dependent back in the queue.
    ///
    /// Nodes in cycles, and nodes that depend on them, cannot be ordered after all of their
    /// prerequisites, so they come after every other node. Among themselves each cycle stands
    /// as one unit (its members together, in key order) that still follows its outside
    /// prerequisites; so every edge not inside a cycle is still respected.
    pub fn order(&self) -> &[Id] {
        &self.order
    }

    /// The nodes in state `ready`, in [`Plan::order`]: the queue agents claim from.
    pub fn ready(&self) -> &[Id] {
        &self.ready
    }

    /// Every cycle as its sorted members, the cycles sorted. A member set rather than a path,
    /// because a strongly connected component can hold many cycles and the user has to see
    /// all of its nodes to break it. A self edge `a → a` is the cycle `[a]`.
    pub fn cycles(&self) -> &[Vec<Id>] {
        &self.cycles
    }

    /// The edges naming an id that is not a node, sorted and deduplicated. A missing
    /// prerequisite also blocks its dependent; a missing dependent is otherwise ignored.
    pub fn missing(&self) -> &[Edge<Id>] {
        &self.missing
    }

    /// Ids given for more than one node, sorted. The resolver keeps the copy with the smallest
    /// `(priority, tiebreak, status)`, a rule that does not depend on input order.
    pub fn duplicates(&self) -> &[Id] {
        &self.duplicates
    }

    /// Every node, sorted by id.
    pub fn nodes(&self) -> &[NodePlan<Id>] {
        &self.nodes
    }

    pub fn node(&self, id: &Id) -> Option<&NodePlan<Id>> {
        self.index_of(id).map(|idx| &self.nodes[idx])
    }

    /// The actionable leaves behind `id`: walking unmet prerequisites transitively, those that
    /// are not themselves held up by another (not done, every prerequisite met), every cycle
    /// member on the way (breaking the cycle is the action), and every missing id. The walk
    /// goes on through cycles, so leaves behind a cycle are listed too. Sorted; `id` itself is
    /// never listed. Empty for an unknown id.
    ///
    /// Computed on demand, because only the single-feature view needs it and computing it for
    /// every node costs as much as the transitive closure.
    pub fn root_blockers(&self, id: &Id) -> Vec<Id> {
        let Some(start) = self.index_of(id) else {
            return Vec::new();
        };
        let mut seen = vec![false; self.nodes.len()];
        seen[start] = true;
        let mut stack = vec![start];
        let mut res = Vec::new();
        while let Some(v) = stack.pop() {
            for &p in self.pre.of(v) {
                let node = &self.nodes[p];
                if seen[p] || node.status == Status::Done {
                    continue;
                }
                seen[p] = true;
                if node.in_cycle || node.blocked_by.is_empty() {
                    res.push(node.id.clone());
                }
                stack.push(p);
            }
            let absent = self.nodes[v]
                .blocked_by
                .iter()
                .filter(|it| self.index_of(it).is_none());
            res.extend(absent.cloned());
        }
        res.sort();
        res.dedup();
        res
    }

    /// The nodes that depend directly on `id`, sorted; empty for an unknown id.
    pub fn dependents(&self, id: &Id) -> Vec<Id> {
        self.index_of(id).map_or_else(Vec::new, |u| {
            self.dependents
                .of(u)
                .iter()
                .map(|&d| self.nodes[d].id.clone())
                .collect()
        })
    }

    fn index_of(&self, id: &Id) -> Option<usize> {
        self.nodes.binary_search_by(|it| it.id.cmp(id)).ok()
    }

    /// Changes one node's status in place, as if the graph had been resolved again with it:
    /// the order, layers and cycles depend only on the edges and the queue keys, so only the
    /// node's own state, its dependents' `blocked_by` and state (when done-ness flips), the
    /// affected `would_unblock` lists and `ready` move. This is what keeps a claim, a heartbeat
    /// or a completion cheap on a graph of thousands of features. Returns the ids whose state
    /// changed, sorted (so a caller can announce exactly those), or `None` (changing nothing)
    /// for an unknown id.
    pub fn set_status(&mut self, id: &Id, status: Status) -> Option<Vec<Id>> {
        let u = self.index_of(id)?;
        let was_done = self.nodes[u].status == Status::Done;
        self.nodes[u].status = status;
        let mut touched = vec![u];
        if was_done != (status == Status::Done) {
            touched.extend_from_slice(self.dependents.of(u));
        }
        let mut flipped = Vec::new();
        for &t in &touched {
            let before = self.nodes[t].state;
            self.rederive(t);
            if self.nodes[t].state != before {
                flipped.push(self.nodes[t].id.clone());
            }
        }
        flipped.sort();
        flipped.dedup();
        // `would_unblock` of a node depends on its dependents' states: refresh it for every
        // prerequisite of a node whose state may have moved, and for the node itself.
        let mut owners: Vec<usize> = touched
            .iter()
            .flat_map(|&t| self.pre.of(t).iter().copied())
            .chain([u])
            .collect();
        owners.sort_unstable();
        owners.dedup();
        for p in owners {
            let mut list: Vec<Id> = self
                .dependents
                .of(p)
                .iter()
                .filter(|&&d| {
                    let node = &self.nodes[d];
                    node.state == State::Blocked
                        && node.blocked_by.len() == 1
                        && node.blocked_by[0] == self.nodes[p].id
                })
                .map(|&d| self.nodes[d].id.clone())
                .collect();
            list.sort();
            self.nodes[p].would_unblock = list;
        }
        self.ready = self
            .order_idx
            .iter()
            .filter(|&&v| self.nodes[v].state == State::Ready)
            .map(|&v| self.nodes[v].id.clone())
            .collect();
        Some(flipped)
    }

    /// Recomputes `blocked_by` and `state` of node `u` from its prerequisites' statuses.
    fn rederive(&mut self, u: usize) {
        let done = |v: usize| self.nodes[v].status == Status::Done;
        let mut blocked_by: Vec<Id> = self
            .pre
            .of(u)
            .iter()
            .filter(|&&p| !done(p))
            .map(|&p| self.nodes[p].id.clone())
            .collect();
        if self.self_edge[u] && !done(u) {
            blocked_by.push(self.nodes[u].id.clone());
        }
        // Missing prerequisites never change: keep the ones that name no node.
        let absent: Vec<Id> = self.nodes[u]
            .blocked_by
            .iter()
            .filter(|it| self.index_of(it).is_none())
            .cloned()
            .collect();
        blocked_by.extend(absent);
        blocked_by.sort();
        let node = &mut self.nodes[u];
        node.state = state_of(node.status, node.in_cycle, !blocked_by.is_empty());
        node.blocked_by = blocked_by;
    }
}

/// The contract's precedence for one node.
fn state_of(status: Status, in_cycle: bool, blocked: bool) -> State {
    match status {
        Status::Done => State::Done,
        Status::Cancelled => State::Cancelled,
        Status::NeedsInput => State::NeedsInput,
        _ if in_cycle => State::Cycle,
        _ if blocked => State::Blocked,
        Status::InProgress => State::InProgress,
        Status::Review => State::Review,
        Status::Pending => State::Ready,
    }
}

/// Resolves the dependency graph given by `nodes` and `edges` (see the crate docs). Runs in
/// `O((n + m) log(n + m))`; the input may hold cycles, self edges, duplicate edges and edges
/// to unknown ids.
pub fn resolve<Id: Clone + Ord>(nodes: &[Node<Id>], edges: &[Edge<Id>]) -> Plan<Id> {
    let (kept, duplicates) = dedup(nodes);
    let links = Links::new(&kept, edges);
    let shape = Shape::new(&kept, &links);
    let plans = derive(&kept, &links, &shape);

    let mut cycles: Vec<Vec<Id>> = (0..shape.members.rows())
        .filter(|&c| shape.cyclic[c])
        .map(|c| {
            let mut it: Vec<Id> = shape
                .members
                .of(c)
                .iter()
                .map(|&u| kept[u].id.clone())
                .collect();
            it.sort();
            it
        })
        .collect();
    cycles.sort();
    let id = |&u: &usize| plans[u].id.clone();
    let ready = shape
        .order
        .iter()
        .filter(|&&u| plans[u].state == State::Ready)
        .map(id)
        .collect();
    let order = shape.order.iter().map(id).collect();
    Plan {
        order,
        ready,
        cycles,
        missing: links.missing,
        duplicates,
        nodes: plans,
        pre: links.pre,
        dependents: links.dependents,
        order_idx: shape.order,
        self_edge: links.self_edge,
    }
}

/// The nodes sorted by id, one per id, and the ids that were given more than once. Indexing
/// nodes by rank of id makes comparing indices compare ids, so nothing downstream can depend
/// on input order.
fn dedup<Id: Clone + Ord>(nodes: &[Node<Id>]) -> (Vec<&Node<Id>>, Vec<Id>) {
    let mut kept: Vec<&Node<Id>> = nodes.iter().collect();
    kept.sort_by(|a, b| {
        (&a.id, a.priority, a.tiebreak, a.status).cmp(&(&b.id, b.priority, b.tiebreak, b.status))
    });
    let mut duplicates = Vec::new();
    kept.dedup_by(|later, first| {
        let same = later.id == first.id;
        if same {
            duplicates.push(later.id.clone());
        }
        same
    });
    duplicates.dedup();
    (kept, duplicates)
}

/// The edges, sorted into what each kind means for the plan.
struct Links<Id> {
    /// Edges between two distinct nodes, as `(dependent, prerequisite)`, sorted, unique.
    pairs: Vec<(usize, usize)>,
    pre: Csr,
    dependents: Csr,
    self_edge: Vec<bool>,
    missing: Vec<Edge<Id>>,
    /// `(dependent, missing prerequisite)`, sorted, unique: the unmet dependencies that have
    /// no node.
    absent: Vec<(usize, Id)>,
}

impl<Id: Clone + Ord> Links<Id> {
    fn new(kept: &[&Node<Id>], edges: &[Edge<Id>]) -> Self {
        let find = |id: &Id| kept.binary_search_by(|it| it.id.cmp(id)).ok();
        let mut pairs = Vec::with_capacity(edges.len());
        let mut self_edge = vec![false; kept.len()];
        let mut missing = Vec::new();
        let mut absent = Vec::new();
        for edge in edges {
            match (find(&edge.dependent), find(&edge.prerequisite)) {
                (Some(d), Some(p)) if d == p => self_edge[d] = true,
                (Some(d), Some(p)) => pairs.push((d, p)),
                (d, _) => {
                    missing.push(edge.clone());
                    if let Some(d) = d {
                        absent.push((d, edge.prerequisite.clone()));
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        missing.sort();
        missing.dedup();
        absent.sort();
        absent.dedup();
        let pre = Csr::build(kept.len(), pairs.iter().copied());
        let dependents = Csr::build(kept.len(), pairs.iter().map(|&(d, p)| (p, d)));
        Links {
            pairs,
            pre,
            dependents,
            self_edge,
            missing,
            absent,
        }
    }
}

/// The graph's structure: its strongly connected components ("components"), their layers and
/// the order.
struct Shape {
    comp: Vec<usize>,
    /// Each component's nodes, smallest `(priority, tiebreak, id)` first.
    members: Csr,
    cyclic: Vec<bool>,
    layer: Vec<usize>,
    order: Vec<usize>,
}

impl Shape {
    fn new<Id>(kept: &[&Node<Id>], links: &Links<Id>) -> Self {
        let n = kept.len();
        let (comp, n_comps) = components(&links.pre);
        let key = |u: usize| (kept[u].priority, kept[u].tiebreak, u);
        let mut members = Csr::build(n_comps, (0..n).map(|u| (comp[u], u)));
        for c in 0..n_comps {
            members.of_mut(c).sort_unstable_by_key(|&u| key(u));
        }
        let cyclic: Vec<bool> = (0..n_comps)
            .map(|c| members.of(c).len() > 1 || links.self_edge[members.of(c)[0]])
            .collect();

        // Components come prerequisites first (see `components`), so one pass settles both
        // the layer and whether a cycle lies somewhere behind a component.
        let mut layer = vec![0; n_comps];
        let mut behind_cycle = cyclic.clone();
        for c in 0..n_comps {
            for &u in members.of(c) {
                for &p in links.pre.of(u) {
                    if comp[p] != c {
                        layer[c] = layer[c].max(layer[comp[p]] + 1);
                        behind_cycle[c] |= behind_cycle[comp[p]];
                    }
                }
            }
        }

        // Urgency is inherited: a component is as urgent as the most urgent component that
        // waits on it, directly or not. Without this, moving a feature to the top of the queue
        // would not move it at all while a prerequisite (even a done one) sits low in the
        // queue, and the prerequisite of the most urgent work would wait behind everything
        // ranked between them. Descending numbers visit dependents first (see `components`).
        let mut urgency: Vec<(i64, i64)> = (0..n_comps)
            .map(|c| {
                let (priority, tiebreak, _) = key(members.of(c)[0]);
                (priority, tiebreak)
            })
            .collect();
        for c in (0..n_comps).rev() {
            for &u in members.of(c) {
                for &d in links.dependents.of(u) {
                    if comp[d] != c {
                        urgency[c] = urgency[c].min(urgency[comp[d]]);
                    }
                }
            }
        }

        // Kahn over the components, so a cycle moves as one unit. Ranking components behind
        // a cycle last puts every orderable node first, in exactly the order Kahn gives.
        let mut waiting = vec![0usize; n_comps];
        for &(d, p) in &links.pairs {
            if comp[d] != comp[p] {
                waiting[comp[d]] += 1;
            }
        }
        let entry = |c: usize| Reverse((behind_cycle[c], urgency[c], key(members.of(c)[0])));
        let mut heap: BinaryHeap<_> = (0..n_comps)
            .filter(|&c| waiting[c] == 0)
            .map(entry)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((_, _, (_, _, first)))) = heap.pop() {
            let c = comp[first];
            order.extend_from_slice(members.of(c));
            for &u in members.of(c) {
                for &d in links.dependents.of(u) {
                    let dc = comp[d];
                    if dc != c {
                        waiting[dc] -= 1;
                        if waiting[dc] == 0 {
                            heap.push(entry(dc));
                        }
                    }
                }
            }
        }
        Shape {
            comp,
            members,
            cyclic,
            layer,
            order,
        }
    }
}

/// Each node's state and the lists that explain it, indexed like `kept`.
fn derive<Id: Clone + Ord>(
    kept: &[&Node<Id>],
    links: &Links<Id>,
    shape: &Shape,
) -> Vec<NodePlan<Id>> {
    let done = |u: usize| kept[u].status == Status::Done;
    let mut absent = links.absent.iter().peekable();
    let mut unblocks = Vec::new();
    let mut plans: Vec<NodePlan<Id>> = Vec::with_capacity(kept.len());
    for (u, node) in kept.iter().enumerate() {
        let unmet: Vec<usize> = links
            .pre
            .of(u)
            .iter()
            .copied()
            .filter(|&p| !done(p))
            .collect();
        let mut blocked_by: Vec<Id> = unmet.iter().map(|&p| kept[p].id.clone()).collect();
        if links.self_edge[u] && !done(u) {
            blocked_by.push(node.id.clone());
        }
        while let Some((_, id)) = absent.next_if(|(d, _)| *d == u) {
            blocked_by.push(id.clone());
        }
        blocked_by.sort();
        let in_cycle = shape.cyclic[shape.comp[u]];
        let state = state_of(node.status, in_cycle, !blocked_by.is_empty());
        if state == State::Blocked && blocked_by.len() == 1 && unmet.len() == 1 {
            unblocks.push((unmet[0], u));
        }
        plans.push(NodePlan {
            id: node.id.clone(),
            status: node.status,
            state,
            blocked_by,
            would_unblock: Vec::new(),
            layer: shape.layer[shape.comp[u]],
            in_cycle,
        });
    }
    // Pushed in ascending `u`, hence sorted by id.
    for (p, u) in unblocks {
        let id = plans[u].id.clone();
        plans[p].would_unblock.push(id);
    }
    plans
}
