//! The tools of contract §8: each one's JSON schema and description (written for a model to
//! read), and what it asks of the API. Lists are paged (`limit`, `cursor` → `nextCursor`), so an
//! answer fits a model's context however large the board is.

use rmcp::model::{CallToolResult, Tool, ToolAnnotations};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::{FlowApi, Method};

/// A task description longer than this is cut in tool answers (the API has the whole text).
const MAX_DESCRIPTION_CHARS: usize = 4000;
/// The session fields a model needs to pick one; the rest of `/api/sessions` stays out.
const SESSION_FIELDS: &[&str] = &[
    "id",
    "name",
    "project",
    "gitBranch",
    "state",
    "live",
    "waitingFor",
    "taskCount",
    "completed",
    "inProgress",
    "pending",
    "modifiedAt",
    "lastActivityAt",
    "subagents",
    "team",
];

fn tool(name: &'static str, description: &'static str, schema: Value, read_only: bool) -> Tool {
    let Value::Object(schema) = schema else {
        unreachable!("tool schemas are objects")
    };
    let annotations = ToolAnnotations::new()
        .read_only(read_only)
        .destructive(false)
        .open_world(false);
    Tool::new(name, description, schema).with_annotations(annotations)
}

fn paging(default: u64, max: u64) -> Value {
    json!({
        "limit": {"type": "integer", "minimum": 1, "maximum": max, "default": default,
                  "description": format!("How many items to return (default {default}, at most {max}).")},
        "cursor": {"type": "string",
                   "description": "The nextCursor of the previous page; omit it for the first page."}
    })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required,
           "additionalProperties": false})
}

fn with(mut base: Value, more: Value) -> Value {
    if let (Some(base), Value::Object(more)) = (base.as_object_mut(), more) {
        base.extend(more);
    }
    base
}

pub(crate) fn definitions() -> Vec<Tool> {
    let feature_id = json!({"type": "integer", "minimum": 1, "description": "The feature's id."});
    let claim_token = json!({"type": "string", "minLength": 1,
        "description": "The claimToken that claim_feature returned."});
    let lease_secs = json!({"type": "integer", "minimum": 1, "maximum": 86400,
        "description": "Lease length in seconds from now (default 900). Heartbeat before it runs out, or the feature returns to the queue."});
    let status = json!({"type": "string", "enum": ["pending", "in_progress", "completed"]});
    let new_feature = object(
        json!({
            "name": {"type": "string", "minLength": 1, "description": "Short title, e.g. \"CSV export\"."},
            "description": {"type": "string", "description": "What done means, in a few sentences."},
            "category": {"type": "string", "description": "Free-form group, e.g. \"backend\"."},
            "project": {"type": "string", "description": "The project it belongs to (often the repository path)."},
            "steps": {"type": "array", "items": {"type": "string"},
                      "description": "Acceptance steps, each checkable on its own."},
            "priority": {"type": "integer", "description": "Lower runs first among ready features."},
            "dependencies": {"type": "array", "items": {"type": "integer", "minimum": 1},
                             "description": "Ids of existing features that must be done first."},
            "ref": {"type": "string", "description": "A name for this entry, so later entries of the same call can depend on it."},
            "dependsOnRefs": {"type": "array", "items": {"type": "string"},
                              "description": "refs of earlier entries of this call that must be done first."}
        }),
        &["name"],
    );
    vec![
        tool(
            "list_sessions",
            "List the Claude Code sessions that keep a task list, newest first: each with its \
             id, name, project, state (busy, idle, waiting, shell, ended), what a waiting one \
             waits for, and its task counts. Use an id with get_tasks.",
            object(paging(20, 100), &[]),
            true,
        ),
        tool(
            "get_tasks",
            "Get one session's tasks (subject, description, status, owner, blocks/blockedBy), \
             sorted by id. Filter by status to see only what is left or in progress.",
            object(
                with(
                    json!({
                        "session_id": {"type": "string", "minLength": 1,
                                       "description": "The session id, as list_sessions gives it."},
                        "status": with(status, json!({"description": "Only tasks with this status."}))
                    }),
                    paging(50, 200),
                ),
                &["session_id"],
            ),
            true,
        ),
        tool(
            "add_note",
            "Append a note to a task's description (shown to the agent that owns the task). \
             Every other field of the task stays as it is.",
            object(
                json!({
                    "session_id": {"type": "string", "minLength": 1, "description": "The session id."},
                    "task_id": {"type": "string", "minLength": 1, "description": "The task id within the session."},
                    "note": {"type": "string", "minLength": 1, "description": "The note, in Markdown."}
                }),
                &["session_id", "task_id", "note"],
            ),
            false,
        ),
        tool(
            "list_features",
            "List features (units of product work) in dependency order, each with its derived \
             state (ready, blocked, in_progress, review, needs_input, done, cancelled, cycle), \
             what blocks it and who claimed it, plus the counts per state.",
            object(
                with(
                    json!({
                        "status": {"type": "string",
                                   "description": "Only these stored statuses, comma separated: pending, in_progress, review, needs_input, done, cancelled."},
                        "project": {"type": "string", "description": "Only this project's features."},
                        "category": {"type": "string", "description": "Only this category."}
                    }),
                    paging(50, 200),
                ),
                &[],
            ),
            true,
        ),
        tool(
            "get_feature",
            "Get one feature with its steps, dependencies, state, blockedBy, rootBlockers (what \
             to finish first) and wouldUnblock (what completing it makes ready).",
            object(json!({"id": feature_id}), &["id"]),
            true,
        ),
        tool(
            "create_features",
            "Create one or more features in one transaction (all or nothing). Entries may \
             depend on existing features by id (dependencies) or on earlier entries of the same \
             call by ref (dependsOnRefs). Returns the created features with their ids.",
            object(
                json!({"features": {"type": "array", "minItems": 1, "maxItems": 100,
                                    "items": new_feature}}),
                &["features"],
            ),
            false,
        ),
        tool(
            "claim_feature",
            "Claim a feature for an agent, atomically: without id, the first ready unclaimed \
             feature in queue order; with id, that one. Returns the feature, a claimToken (keep \
             it for heartbeat, complete_feature, release_feature) and leaseExpiresAt; or \
             feature null with a reason (all_done, all_blocked, all_claimed, empty). Error codes: \
             claimed_by_other (another agent holds it), feature_blocked (prerequisites not done).",
            object(
                json!({
                    "agent": {"type": "string", "minLength": 1,
                              "description": "Who is claiming, shown on the board (e.g. your session name)."},
                    "id": with(feature_id.clone(), json!({"description": "Claim this feature instead of the next ready one."})),
                    "lease_secs": lease_secs
                }),
                &["agent"],
            ),
            false,
        ),
        tool(
            "heartbeat",
            "Extend the lease on a feature you claimed. Error code lease_lost means the claim \
             expired or was taken over: stop and claim again.",
            object(
                json!({"id": feature_id, "claim_token": claim_token, "lease_secs": lease_secs}),
                &["id", "claim_token"],
            ),
            false,
        ),
        tool(
            "complete_feature",
            "Mark a feature you claimed as done. Returns the feature and `unblocked`: the ids of \
             features that are now ready because of it. Error codes: lease_lost, \
             feature_blocked (prerequisites not done; force overrides).",
            object(
                json!({"id": feature_id, "claim_token": claim_token,
                       "force": {"type": "boolean", "default": false,
                                 "description": "Complete even though prerequisites are not done."}}),
                &["id", "claim_token"],
            ),
            false,
        ),
        tool(
            "release_feature",
            "Give a claimed feature back to the queue. With failed true the attempt counts; \
             after 3 failed attempts the feature needs a person's input.",
            object(
                json!({"id": feature_id, "claim_token": claim_token,
                       "failed": {"type": "boolean", "default": false,
                                  "description": "The work failed (counts an attempt)."}}),
                &["id", "claim_token"],
            ),
            false,
        ),
        tool(
            "ready_features",
            "The features that can be started now (prerequisites done, not claimed), in queue \
             order. An empty list comes with a reason: all_done, all_blocked, all_claimed or \
             empty.",
            object(
                json!({"limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10,
                                 "description": "How many to return (default 10)."}}),
                &[],
            ),
            true,
        ),
    ]
}

/// A refusal before the API is asked: the arguments do not fit the schema.
fn invalid(message: impl std::fmt::Display) -> Value {
    json!({"error": message.to_string(), "code": "invalid_arguments"})
}

fn args<T: DeserializeOwned>(args: Map<String, Value>) -> Result<T, Value> {
    serde_json::from_value(Value::Object(args)).map_err(invalid)
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

const MAX_OFFSET: usize = 1 << 40;

/// One page: `(offset, limit)` from the arguments.
fn page(
    cursor: Option<&str>,
    limit: Option<u64>,
    default: u64,
    max: u64,
) -> Result<(usize, usize), Value> {
    // A cursor is an offset this tool handed out: far below a million in practice, so a
    // larger one cannot be ours (and could overflow the arithmetic below).
    let offset = match cursor {
        None | Some("") => 0,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|&o| o <= MAX_OFFSET)
            .ok_or_else(|| invalid("cursor is not one this tool returned"))?,
    };
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(invalid(format!("limit must be between 1 and {max}")));
    }
    Ok((offset, limit as usize))
}

/// Cuts `items` to the page and says where the next one starts.
fn paged(items: Vec<Value>, offset: usize, limit: usize) -> (Vec<Value>, Value) {
    let total = items.len();
    let items: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let next = (offset + limit < total).then(|| (offset + limit).to_string());
    (items, json!(next))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListSessions {
    limit: Option<u64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetTasks {
    session_id: String,
    status: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddNote {
    session_id: String,
    task_id: String,
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFeatures {
    status: Option<String>,
    project: Option<String>,
    category: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureRef {
    id: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateFeatures {
    features: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Claim {
    agent: String,
    id: Option<u64>,
    lease_secs: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Claimed {
    id: u64,
    claim_token: String,
    lease_secs: Option<i64>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    failed: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ready {
    limit: Option<u64>,
}

/// Runs one tool. Every outcome is a tool result: API refusals and an unreachable Flow are
/// tool errors the model can read and act on.
pub(crate) async fn call<A: FlowApi>(
    api: &A,
    name: &str,
    arguments: Map<String, Value>,
) -> CallToolResult {
    match run(api, name, arguments).await {
        Ok(Value::Object(res)) => CallToolResult::structured(Value::Object(res)),
        // Structured content is an object; anything else goes inside one.
        Ok(other) => CallToolResult::structured(json!({"result": other})),
        Err(err) => CallToolResult::structured_error(err),
    }
}

async fn run<A: FlowApi>(api: &A, name: &str, a: Map<String, Value>) -> Result<Value, Value> {
    let get = |path: String| ask(api, Method::Get, path, None);
    let post = |path: String, body: Value| ask(api, Method::Post, path, Some(body));
    match name {
        "list_sessions" => {
            let q: ListSessions = args(a)?;
            let (offset, limit) = page(q.cursor.as_deref(), q.limit, 20, 100)?;
            // One more than the page, to know whether another follows.
            let sessions = get(format!("/api/sessions?limit={}", offset + limit + 1)).await?;
            let items = array(sessions)
                .into_iter()
                .map(|s| pick(s, SESSION_FIELDS))
                .collect();
            let (sessions, next) = paged(items, offset, limit);
            Ok(json!({"sessions": sessions, "nextCursor": next}))
        }
        "get_tasks" => {
            let q: GetTasks = args(a)?;
            let (offset, limit) = page(q.cursor.as_deref(), q.limit, 50, 200)?;
            let tasks = get(format!("/api/sessions/{}", encode(&q.session_id))).await?;
            let items: Vec<Value> = array(tasks)
                .into_iter()
                .filter(|t| q.status.as_deref().is_none_or(|s| t["status"] == s))
                .map(clip_description)
                .collect();
            let total = items.len();
            let (tasks, next) = paged(items, offset, limit);
            Ok(
                json!({"sessionId": q.session_id, "tasks": tasks, "total": total, "nextCursor": next}),
            )
        }
        "add_note" => {
            let q: AddNote = args(a)?;
            let path = format!(
                "/api/tasks/{}/{}/note",
                encode(&q.session_id),
                encode(&q.task_id)
            );
            Ok(post(path, json!({"note": q.note})).await?)
        }
        "list_features" => {
            let q: ListFeatures = args(a)?;
            let (offset, limit) = page(q.cursor.as_deref(), q.limit, 50, 200)?;
            let filters: Vec<String> = [
                ("status", &q.status),
                ("project", &q.project),
                ("category", &q.category),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", encode(v))))
            .collect();
            let mut all = get(format!("/api/features?{}", filters.join("&"))).await?;
            let items = array(all["features"].take());
            let (features, next) = paged(items, offset, limit);
            Ok(
                json!({"features": features, "counts": all["counts"], "cycles": all["cycles"], "nextCursor": next}),
            )
        }
        "get_feature" => {
            let q: FeatureRef = args(a)?;
            Ok(get(format!("/api/features/{}", q.id)).await?)
        }
        "create_features" => {
            let q: CreateFeatures = args(a)?;
            if q.features.is_empty() || q.features.len() > 100 {
                return Err(invalid("features must hold 1 to 100 entries"));
            }
            Ok(post("/api/features/bulk".into(), json!({"features": q.features})).await?)
        }
        "claim_feature" => {
            let q: Claim = args(a)?;
            let mut body = json!({"agent": q.agent});
            if let Some(secs) = q.lease_secs {
                body["leaseSecs"] = json!(secs);
            }
            let path = match q.id {
                Some(id) => format!("/api/features/{id}/claim"),
                None => "/api/features/claim".to_owned(),
            };
            Ok(post(path, body).await?)
        }
        "heartbeat" | "complete_feature" | "release_feature" => {
            let q: Claimed = args(a)?;
            let mut body = json!({"claimToken": q.claim_token});
            let action = match name {
                "heartbeat" => {
                    if let Some(secs) = q.lease_secs {
                        body["leaseSecs"] = json!(secs);
                    }
                    "heartbeat"
                }
                "complete_feature" => {
                    body["force"] = json!(q.force);
                    "complete"
                }
                _ => {
                    body["failed"] = json!(q.failed);
                    "release"
                }
            };
            Ok(post(format!("/api/features/{}/{action}", q.id), body).await?)
        }
        "ready_features" => {
            let q: Ready = args(a)?;
            let (_, limit) = page(None, q.limit, 10, 100)?;
            Ok(get(format!("/api/features/ready?limit={limit}")).await?)
        }
        other => Err(invalid(format!("unknown tool `{other}`"))),
    }
}

/// One API call; a refusal becomes a tool error carrying the API's body and `code`.
async fn ask<A: FlowApi>(
    api: &A,
    method: Method,
    path: String,
    body: Option<Value>,
) -> Result<Value, Value> {
    let answer = api
        .call(method, path, body)
        .await
        .map_err(|message| json!({"error": message, "code": "flow_unreachable"}))?;
    if (200..300).contains(&answer.status) {
        return Ok(answer.body);
    }
    let mut body = match answer.body {
        Value::Object(map) => Value::Object(map),
        other => json!({"error": other}),
    };
    if body.get("code").is_none() {
        body["code"] = json!(fallback_code(answer.status));
    }
    body["status"] = json!(answer.status);
    Err(body)
}

/// A code for the API's errors that carry none (those outside the feature store).
fn fallback_code(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        413 => "too_large",
        422 => "invalid",
        503 => "unavailable",
        _ => "error",
    }
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

fn pick(item: Value, fields: &[&str]) -> Value {
    match item {
        Value::Object(mut map) => Value::Object(
            fields
                .iter()
                .filter_map(|f| Some(((*f).to_owned(), map.remove(*f)?)))
                .collect(),
        ),
        other => other,
    }
}

fn clip_description(mut task: Value) -> Value {
    if let Some(text) = task["description"].as_str()
        && text.chars().count() > MAX_DESCRIPTION_CHARS
    {
        let cut: String = text.chars().take(MAX_DESCRIPTION_CHARS).collect();
        task["description"] = json!(format!("{cut}… (cut; the full text is in the API)"));
    }
    task
}
