//! Dependency ordering for Flow, pure and deterministic: given nodes (tasks or features) and
//! "depends on" edges, it will return a topological order, every cycle, edges to missing ids,
//! and per node whether it is ready or blocked and by what.
//!
//! It is an API boundary: generic over ids, no I/O, no knowledge of HTTP or storage. A cycle or
//! a missing dependency is part of the result, not an error, because the board must still
//! render. The feature-store issue fills this crate; until then it is deliberately empty.
