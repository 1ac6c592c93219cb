//! Data-driven tests of the resolver: one line per case, input and expectation in a tiny text
//! format, so a case reads like the graph it describes.
//!
//! Input: `nodes | edges`. A node is `id[:status][/priority[/tiebreak]]` (default: pending,
//! 0, 0); an edge `a->b` means "a depends on b". An id used only in an edge is missing.
//!
//! Expectation: space-separated `key=value` checks, where a list is `a,b`, an empty list `-`,
//! and the keys are `order`, `ready`, `cycles` (`a,b;c`), `missing` (`a->z`), `dups`, and per
//! node `X.state`, `X.by` (blocked by), `X.root` (root blockers), `X.unblocks`, `X.layer`.

use crate::{Edge, Node, Plan, Status, Task, TaskPlan, resolve, resolve_tasks, would_create_cycle};

fn list<S: AsRef<str>>(ids: &[S]) -> String {
    if ids.is_empty() {
        return "-".to_owned();
    }
    ids.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(",")
}

fn lists<S: AsRef<str>>(groups: &[Vec<S>]) -> String {
    if groups.is_empty() {
        return "-".to_owned();
    }
    groups
        .iter()
        .map(|it| list(it))
        .collect::<Vec<_>>()
        .join(";")
}

fn edges<'a>(text: &'a str) -> Vec<Edge<&'a str>> {
    let edge = |it: &'a str| it.split_once("->").map(|(d, p)| Edge::new(d, p));
    text.split_whitespace()
        .map(|it| edge(it).unwrap_or_else(|| panic!("bad edge `{it}`")))
        .collect()
}

fn parse(input: &'static str) -> Plan<&'static str> {
    let (nodes, edge_text) = input.split_once('|').unwrap_or((input, ""));
    let nodes: Vec<Node<&str>> = nodes
        .split_whitespace()
        .map(|token| {
            let mut parts = token.split('/');
            let head = parts.next().unwrap_or_default();
            let (id, status) = head.split_once(':').unwrap_or((head, "pending"));
            let status = match status {
                "pending" => Status::Pending,
                "in_progress" => Status::InProgress,
                "review" => Status::Review,
                "needs_input" => Status::NeedsInput,
                "done" => Status::Done,
                "cancelled" => Status::Cancelled,
                other => panic!("bad status `{other}`"),
            };
            let mut number = || parts.next().map_or(0, |it| it.parse().expect("number"));
            Node {
                id,
                status,
                priority: number(),
                tiebreak: number(),
            }
        })
        .collect();
    resolve(&nodes, &edges(edge_text))
}

fn render(plan: &Plan<&str>, key: &str) -> String {
    match key {
        "order" => list(plan.order()),
        "ready" => list(plan.ready()),
        "cycles" => lists(plan.cycles()),
        "dups" => list(plan.duplicates()),
        "missing" => {
            let it: Vec<String> = plan
                .missing()
                .iter()
                .map(|e| format!("{}->{}", e.dependent, e.prerequisite))
                .collect();
            list(&it)
        }
        _ => {
            let (id, field) = key
                .split_once('.')
                .unwrap_or_else(|| panic!("bad key `{key}`"));
            let node = plan.node(&id).unwrap_or_else(|| panic!("no node `{id}`"));
            match field {
                "state" => node.state.as_str().to_owned(),
                "by" => list(&node.blocked_by),
                "root" => list(&plan.root_blockers(&id)),
                "unblocks" => list(&node.would_unblock),
                "layer" => node.layer.to_string(),
                _ => panic!("bad field `{field}`"),
            }
        }
    }
}

#[track_caller]
fn check(input: &'static str, expect: &str) {
    let plan = parse(input);
    let actual: Vec<String> = expect
        .split_whitespace()
        .map(|it| {
            let key = it.split_once('=').map_or(it, |(key, _)| key);
            format!("{key}={}", render(&plan, key))
        })
        .collect();
    assert_eq!(actual.join(" "), expect, "input: {input}");
}

#[test]
#[rustfmt::skip]
fn order_and_readiness() {
    check("a b c | b->a c->b", "order=a,b,c ready=a a.state=ready b.state=blocked c.by=b");
    check("c b a | c->b b->a", "order=a,b,c ready=a");
    check("a b c d | b->a c->a d->b d->c", "order=a,b,c,d ready=a d.by=b,c d.root=a");
    check("a b/5 c/1 d | b->a c->a d->b d->c", "order=a,c,b,d");
    check("a/3 b/1 c/2", "order=b,c,a ready=b,c,a");
    check("a/1/9 b/1/3 c/0/5", "order=c,b,a");
    check("a/-1 b/-1 c", "order=a,b,c");
    check("a/9 b/0 | b->a", "order=a,b ready=a");
    // Urgency is inherited: `a` is all that stands before the most urgent `c`.
    check("a/5 b/1 c/0 | c->a", "order=a,c,b ready=a,b");
    // A done prerequisite low in the queue does not hold its dependent back.
    check("x/1 d:done/9 y/0 | y->d", "order=d,y,x ready=y,x");
    // Inherited through a chain, and only by prerequisites: `m` stays where it is.
    check("a/9 b/8 c/0 m/5 | c->b b->a", "order=a,b,c,m ready=a,m");
    // Equal urgency falls back to each node's own key.
    check("p/7 q/3 z/0 | z->p z->q", "order=q,p,z");
    check("a b:done c | c->a c->b", "order=a,b,c ready=a a.unblocks=c c.by=a");
    check("", "order=- ready=- cycles=- missing=-");
}

#[test]
#[rustfmt::skip]
fn states_follow_the_contract_precedence() {
    check("a:done b:done c | c->a c->b", "c.state=ready ready=c c.by=- c.root=-");
    check("a:done b | b->a", "b.state=ready a.state=done");
    check("a:cancelled b | b->a", "a.state=cancelled b.state=blocked b.by=a b.root=a");
    check("a b:in_progress c:review | b->a", "b.state=blocked c.state=review");
    check("a:done b:in_progress | b->a", "b.state=in_progress ready=-");
    check("a b:done | b->a", "b.state=done b.by=a a.unblocks=-");
    check("a b:needs_input | a->b b->a", "a.state=cycle b.state=needs_input");
    check("a b:cancelled | b->a", "b.state=cancelled b.by=a");
    check("a b:needs_input | b->a", "b.state=needs_input b.by=a");
}

#[test]
#[rustfmt::skip]
fn cycles_are_reported_and_ordered_last() {
    check("a b c | a->b b->a c->a", "cycles=a,b a.state=cycle b.state=cycle c.state=blocked");
    check("a b c d/9 | a->b b->a c->a", "order=d,a,b,c ready=d");
    check("a/2 b/1 c/3 | a->b b->c c->a", "order=b,a,c cycles=a,b,c");
    check("a b | a->a", "cycles=a order=b,a ready=b a.state=cycle a.by=a");
    check("a:done | a->a", "cycles=a a.state=done a.by=-");
    check("a b c d | a->b b->a c->d d->c", "cycles=a,b;c,d");
    check("x a b c | c->b b->a a->b c->x", "order=x,a,b,c c.by=b,x c.root=a,b,x");
    check("a:done b | a->b b->a", "b.state=cycle a.state=done b.by=- cycles=a,b");
}

#[test]
#[rustfmt::skip]
fn missing_prerequisites_block() {
    check("a | a->z", "missing=a->z a.state=blocked a.by=z a.root=z ready=-");
    check("a b | b->a b->z a->y", "missing=a->y,b->z b.by=a,z b.root=y,z a.unblocks=-");
    check("a | z->a y->z", "missing=y->z,z->a a.state=ready ready=a");
    check("a:done | a->z a->z", "missing=a->z a.state=done a.by=z");
}

#[test]
#[rustfmt::skip]
fn root_blockers_are_the_actionable_leaves() {
    check("a b c d | d->c c->b b->a", "d.root=a c.root=a a.root=-");
    check("a:done b c d | d->c c->b b->a", "d.root=b d.by=c");
    check("a b c d e | e->d e->c d->a c->b", "e.root=a,b");
    check("a:in_progress b:needs_input c | c->a c->b", "c.root=a,b");
    check("a:done b:done c | c->b b->a", "c.root=-");
    check("a b c | c->a a->b b->a", "c.root=a,b a.root=b");
    check("a b c | c->b b->a a->z", "c.root=z b.root=z");
    check("q", "q.root=-");
}

#[test]
#[rustfmt::skip]
fn would_unblock_lists_dependents_waiting_only_on_this() {
    check("a b c d | b->a c->a c->d", "a.unblocks=b d.unblocks=- b.unblocks=-");
    check("a b c d:done | b->a c->a c->d", "a.unblocks=b,c");
    check("a b:done c:cancelled d:needs_input | b->a c->a d->a", "a.unblocks=-");
    check("a b:in_progress | b->a", "a.unblocks=b");
    check("a b c | b->a c->a c->z", "a.unblocks=b");
    check("a b | a->b b->a", "a.unblocks=- b.unblocks=-");
}

#[test]
#[rustfmt::skip]
fn layers_are_longest_paths_and_cycles_count_once() {
    check("a b c d e | c->a c->b d->c e->a", "a.layer=0 b.layer=0 c.layer=1 d.layer=2 e.layer=1");
    check("a b c d | b->a c->b d->a d->c", "d.layer=3");
    check("a b c d | b->a c->b b->c d->c", "a.layer=0 b.layer=1 c.layer=1 d.layer=2");
    check("a b | a->a b->a", "a.layer=0 b.layer=1");
    check("a | a->z", "a.layer=0");
}

#[test]
#[rustfmt::skip]
fn duplicate_ids_and_edges_are_tolerated() {
    check("a/5 a:done/1 b | b->a b->a", "dups=a a.state=done b.state=ready order=a,b");
    check("a a a", "dups=a order=a");
}

#[track_caller]
fn check_path(existing: &'static str, added: &'static str, expect: &str) {
    let (from, to) = added.split_once("->").expect("an edge");
    let path = would_create_cycle(&edges(existing), &from, &to);
    assert_eq!(
        path.map_or("-".to_owned(), |it| list(&it)),
        expect,
        "{existing} + {added}"
    );
}

#[test]
#[rustfmt::skip]
fn would_create_cycle_returns_the_path() {
    check_path("", "a->a", "a,a");
    check_path("b->a", "a->b", "a,b,a");
    check_path("a->b b->c", "c->a", "c,a,b,c");
    check_path("a->b b->c", "a->c", "-");
    check_path("a->b", "b->c", "-");
    check_path("b->d b->c c->a d->a", "a->b", "a,b,c,a");
    check_path("b->c c->d d->a b->a", "a->b", "a,b,a");
    check_path("x->y y->x", "a->b", "-");
    check_path("b->c c->b c->a", "a->b", "a,b,c,a");
}

/// Tasks: `id[:done][<blocked_by,…][>blocks,…]`, e.g. `3<1,2` (3 waits for 1 and 2) or
/// `1>4` (1 blocks 4). Keys: `order`, `ready`, `blocked` (`3:1,2;4:9`), `cycles`, `missing`.
#[track_caller]
fn check_tasks(input: &'static str, expect: &str) {
    let tasks: Vec<Task<&str>> = input
        .split_whitespace()
        .map(|token| {
            let ids = |it: Option<&'static str>| -> Vec<&str> {
                it.map(|it| it.split(',').collect()).unwrap_or_default()
            };
            let (rest, blocks) = token
                .split_once('>')
                .map_or((token, None), |(r, b)| (r, Some(b)));
            let (head, blocked_by) = rest
                .split_once('<')
                .map_or((rest, None), |(h, b)| (h, Some(b)));
            let (id, completed) = head
                .strip_suffix(":done")
                .map_or((head, false), |it| (it, true));
            Task {
                id,
                completed,
                blocked_by: ids(blocked_by),
                blocks: ids(blocks),
            }
        })
        .collect();
    let plan: TaskPlan<&str> = resolve_tasks(&tasks);
    let map = |m: &std::collections::BTreeMap<&str, Vec<&str>>| {
        let it: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", list(v))).collect();
        if it.is_empty() {
            "-".to_owned()
        } else {
            it.join(";")
        }
    };
    let actual: Vec<String> = expect
        .split_whitespace()
        .map(|it| {
            let key = it.split_once('=').map_or(it, |(key, _)| key);
            let value = match key {
                "order" => list(&plan.order),
                "ready" => list(&plan.ready),
                "blocked" => map(&plan.blocked),
                "cycles" => lists(&plan.cycles),
                "missing" => map(&plan.missing),
                _ => panic!("bad key `{key}`"),
            };
            format!("{key}={value}")
        })
        .collect();
    assert_eq!(actual.join(" "), expect, "input: {input}");
}

#[test]
#[rustfmt::skip]
fn tasks_join_blocked_by_and_blocks() {
    check_tasks("1 2 3<1,2", "order=1,2,3 ready=1,2 blocked=3:1,2 missing=-");
    check_tasks("1>3 2 3", "order=1,2,3 ready=1,2 blocked=3:1");
    check_tasks("1:done 2<1 3<2", "ready=2 blocked=3:2");
    check_tasks("1:done>2 2<1", "ready=2 blocked=-");
    check_tasks("1<9 2>8", "ready=2 blocked=1:9 missing=1:9;2:8");
    check_tasks("1<2 2<1 3", "cycles=1,2 ready=3 blocked=1:2;2:1");
    check_tasks("1:done<9", "blocked=- missing=1:9 ready=-");
    check_tasks("1<1", "cycles=1 blocked=1:1 ready=-");
}
