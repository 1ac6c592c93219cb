//! Claude Code tasks on the same resolver as features. Invariant: a task is blocked exactly
//! when `contract.md` §1 says so: while one of its blockers exists and is not completed, an
//! unknown blocker counting as blocking.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Edge, Node, State, Status, resolve};

/// The dependency view of one Claude Code task file. Claude Code records a dependency on
/// either side (`blockedBy` on the dependent, `blocks` on the prerequisite) and does not keep
/// the two in step, so both are taken.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Task<Id> {
    pub id: Id,
    pub completed: bool,
    pub blocked_by: Vec<Id>,
    pub blocks: Vec<Id>,
}

/// The task board's answer, keyed by id in `BTreeMap`s so that serialising it is
/// deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPlan<Id> {
    /// Blockers before the tasks they block, otherwise by id (see [`crate::Plan::order`]).
    pub order: Vec<Id>,
    /// Open tasks with no open blocker, not in a cycle, in `order`.
    pub ready: Vec<Id>,
    /// Each open task that has an open blocker, with its open blockers (sorted). `blockedBy`
    /// is not cleared when a blocker completes, so completed blockers are left out here;
    /// unknown ones stay in, since nothing says they are done.
    pub blocked: BTreeMap<Id, Vec<Id>>,
    /// As [`crate::Plan::cycles`].
    pub cycles: Vec<Vec<Id>>,
    /// Each task that names ids no task has (in `blockedBy` or `blocks`), with those ids.
    pub missing: BTreeMap<Id, Vec<Id>>,
}

/// Resolves Claude Code tasks: the edges are the union of every `blockedBy` and the inverse of
/// every `blocks`. Tasks have no priority, so ties are broken by id alone; give numeric ids a
/// numeric `Id` type if "10" must come after "9".
///
/// ```
/// use flow_resolver::{Task, resolve_tasks};
///
/// let task = |id, completed, blocked_by: &[u32], blocks: &[u32]| Task {
///     id, completed, blocked_by: blocked_by.to_vec(), blocks: blocks.to_vec(),
/// };
/// // 2 blocks 3 (said only on 2's side); 3 also waits for the unknown 9.
/// let plan = resolve_tasks(&[task(1, true, &[], &[]), task(2, false, &[1], &[3]), task(3, false, &[9], &[])]);
/// assert_eq!(plan.order, [1, 2, 3]);
/// assert_eq!(plan.ready, [2]);
/// assert_eq!(plan.blocked.get(&3), Some(&vec![2, 9]));
/// assert_eq!(plan.missing.get(&3), Some(&vec![9]));
/// ```
pub fn resolve_tasks<Id: Clone + Ord>(tasks: &[Task<Id>]) -> TaskPlan<Id> {
    let status = |t: &Task<Id>| {
        if t.completed {
            Status::Done
        } else {
            Status::Pending
        }
    };
    let nodes: Vec<Node<Id>> = tasks
        .iter()
        .map(|t| Node::new(t.id.clone(), status(t)))
        .collect();
    let edges: Vec<Edge<Id>> = tasks
        .iter()
        .flat_map(|t| {
            let after = t
                .blocked_by
                .iter()
                .map(|b| Edge::new(t.id.clone(), b.clone()));
            after.chain(t.blocks.iter().map(|b| Edge::new(b.clone(), t.id.clone())))
        })
        .collect();
    let plan = resolve(&nodes, &edges);

    let blocked = plan
        .nodes()
        .iter()
        .filter(|it| it.state != State::Done && !it.blocked_by.is_empty())
        .map(|it| (it.id.clone(), it.blocked_by.clone()))
        .collect();
    let known: BTreeSet<&Id> = tasks.iter().map(|t| &t.id).collect();
    let mut missing: BTreeMap<Id, Vec<Id>> = BTreeMap::new();
    for t in tasks {
        let unknown = t
            .blocked_by
            .iter()
            .chain(&t.blocks)
            .filter(|it| !known.contains(it));
        let mut unknown = unknown.cloned().peekable();
        if unknown.peek().is_some() {
            missing.entry(t.id.clone()).or_default().extend(unknown);
        }
    }
    for ids in missing.values_mut() {
        ids.sort();
        ids.dedup();
    }
    TaskPlan {
        order: plan.order().to_vec(),
        ready: plan.ready().to_vec(),
        blocked,
        cycles: plan.cycles().to_vec(),
        missing,
    }
}
