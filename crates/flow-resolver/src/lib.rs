//! Dependency ordering for Flow, pure and deterministic: given nodes (features or tasks) and
//! "depends on" edges, [`resolve`] returns a topological order, every cycle, the edges that name
//! missing ids, and per node the derived [`State`] with what blocks it.
//!
//! This crate is an API boundary (see `ARCHITECTURE.md`):
//!
//! - **Generic over ids.** Any `Id: Clone + Ord` works, so features (`i64`) and Claude Code
//!   tasks (strings) share one resolver and one definition of "blocked".
//! - **Pure and deterministic.** No I/O, no clock, no hashing with random seeds. The result
//!   depends only on the *sets* of nodes and edges: permuting the input changes nothing, so
//!   every screen and every event agrees on the order.
//! - **Problems are data.** A cycle, a self edge or a dependency on an unknown id is reported
//!   in the [`Plan`], never as an `Err`, because the board must still render.
//! - **No recursion.** Graph walks are iterative, so a chain of 100,000 nodes cannot overflow
//!   the stack.
//!
//! An edge `Edge::new(a, b)` reads "`a` depends on `b`": `b` is the prerequisite and comes
//! first.
//!
//! ```
//! use flow_resolver::{Edge, Node, State, Status, resolve, would_create_cycle};
//!
//! // 3 depends on 2, which depends on 1; 1 is done; 4 is urgent and free.
//! let nodes = [
//!     Node::new(1, Status::Done),
//!     Node::new(2, Status::Pending),
//!     Node::new(3, Status::Pending),
//!     Node { priority: -1, ..Node::new(4, Status::Pending) },
//! ];
//! let edges = [Edge::new(3, 2), Edge::new(2, 1)];
//! let plan = resolve(&nodes, &edges);
//!
//! assert_eq!(plan.order(), [4, 1, 2, 3]); // priority first, but never before a prerequisite
//! assert_eq!(plan.ready(), [4, 2]); // the queue agents claim from
//! let three = plan.node(&3).unwrap();
//! assert_eq!((three.state, three.state.as_str()), (State::Blocked, "blocked"));
//! assert_eq!(three.blocked_by, [2]);
//! assert_eq!(plan.root_blockers(&3), [2]); // what to work on to get 3 moving
//! assert_eq!(plan.node(&2).unwrap().would_unblock, [3]);
//! assert_eq!(three.layer, 2);
//!
//! // Validate a write before making it: "1 depends on 3" would close 1 → 3 → 2 → 1.
//! assert_eq!(would_create_cycle(&edges, &1, &3), Some(vec![1, 3, 2, 1]));
//! assert_eq!(would_create_cycle(&edges, &3, &1), None);
//! ```
//!
//! Claude Code tasks carry `blockedBy` and `blocks` lists instead of edges; [`resolve_tasks`]
//! turns them into the same [`Plan`] and answers in the shape the task board needs.

mod cycle;
mod graph;
mod plan;
mod tasks;

pub use cycle::would_create_cycle;
pub use plan::{NodePlan, Plan, resolve};
pub use tasks::{Task, TaskPlan, resolve_tasks};

/// The stored status of a node. Only [`Status::Done`] satisfies a dependency: a cancelled
/// prerequisite still blocks, because dropping work does not make its dependents possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pending,
    InProgress,
    Review,
    NeedsInput,
    Done,
    Cancelled,
}

/// The derived state of a node, never stored, with the precedence of `contract.md` §5:
/// `done` > `cancelled` > `needs_input` > `cycle` > `blocked` > `in_progress`/`review` > `ready`.
///
/// The precedence puts what a person must act on first: a node in a cycle can never become
/// ready by finishing work, so `cycle` outranks `blocked`; a stored decision (done, cancelled,
/// waiting for input) outranks anything the graph says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Done,
    Cancelled,
    NeedsInput,
    Cycle,
    Blocked,
    InProgress,
    Review,
    Ready,
}

impl State {
    /// The spelling `contract.md` uses on the wire, so every crate renders a state the same way.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Done => "done",
            State::Cancelled => "cancelled",
            State::NeedsInput => "needs_input",
            State::Cycle => "cycle",
            State::Blocked => "blocked",
            State::InProgress => "in_progress",
            State::Review => "review",
            State::Ready => "ready",
        }
    }
}

/// A node to order. The queue key is `(priority, tiebreak, id)`, smallest first: priority is
/// the user's ranking, the tiebreak lets the caller break equal priorities by something
/// meaningful (creation time, say) before falling back to the id. A prerequisite inherits the
/// key of its most urgent dependent (see [`Plan::order`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Node<Id> {
    pub id: Id,
    pub status: Status,
    pub priority: i64,
    pub tiebreak: i64,
}

impl<Id> Node<Id> {
    /// A node with priority and tiebreak 0, so that it is ordered by id alone.
    pub fn new(id: Id, status: Status) -> Self {
        Node {
            id,
            status,
            priority: 0,
            tiebreak: 0,
        }
    }
}

/// "`dependent` depends on `prerequisite`". Named fields rather than a tuple, because the
/// direction of an edge is the one thing a caller must not get backwards.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge<Id> {
    pub dependent: Id,
    pub prerequisite: Id,
}

impl<Id> Edge<Id> {
    pub fn new(dependent: Id, prerequisite: Id) -> Self {
        Edge {
            dependent,
            prerequisite,
        }
    }
}

#[cfg(test)]
mod tests;
