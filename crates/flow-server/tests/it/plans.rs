//! Plans (contract §6): `plans/<slug>.md` listed with its title and sessions, served as stored
//! text (HTML and script included: the API never renders), `planSlug` on the sessions whose
//! transcript slug it carries, `plan-update` when one comes, changes or goes, unsafe slugs 400.

use serde_json::{Value, json};

use crate::support::{ClaudeTree, SseClient, TestServer};

const WRITER: &str = "c0ffee00-1111-4000-8000-000000000001";
const OTHER: &str = "c0ffee00-2222-4000-8000-000000000002";

const PLAN: &str = "Notes before the title.\n\n```sh\n# not the title\n```\n\n\
# Ship the <em>exporter</em>\n\n<script>alert('x')</script>\n\n## Steps\n- [ ] wire it\n";

fn planned() -> ClaudeTree {
    let tree = ClaudeTree::new();
    tree.task(
        WRITER,
        json!({"id":"1","subject":"wire it","status":"pending"}),
    );
    tree.transcript(
        "-work",
        WRITER,
        &[json!({"type":"user","cwd":"/work","slug":"calm-otter","sessionId":WRITER})],
    );
    tree.task(
        OTHER,
        json!({"id":"1","subject":"other","status":"pending"}),
    );
    tree.transcript(
        "-work",
        OTHER,
        &[json!({"type":"user","cwd":"/work","slug":"no-plan-here","sessionId":OTHER})],
    );
    tree.write("plans/calm-otter.md", PLAN);
    tree
}

fn item<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

/// `GET path` once `pred` holds, awaiting the next `plan-update` for `slug` between tries: a
/// plain (non-atomic) write may be read half-done first, and brings another event once whole.
async fn plan_when(
    server: &TestServer,
    sse: &mut SseClient,
    slug: &str,
    path: &str,
    status: u16,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let res = server.get(path).await;
        if res.status().as_u16() == status {
            let body: Value = res.json().await.unwrap();
            if pred(&body) {
                return body;
            }
        }
        sse.until(|e| e["type"] == "plan-update" && e["slug"] == slug)
            .await;
    }
}

#[tokio::test]
async fn a_plan_is_listed_linked_to_its_session_and_served_verbatim() {
    let server = TestServer::start(planned()).await;
    let sessions = server.get_json("/api/sessions", 200).await;
    assert_eq!(item(&sessions, WRITER)["planSlug"], "calm-otter");
    assert_eq!(
        item(&sessions, OTHER)["planSlug"],
        Value::Null,
        "no such plan"
    );

    let plans = server.get_json("/api/plans", 200).await;
    assert_eq!(plans.as_array().unwrap().len(), 1);
    let p = &plans[0];
    assert_eq!(p["slug"], "calm-otter");
    assert_eq!(p["title"], "Ship the <em>exporter</em>");
    assert_eq!(p["sessionIds"], json!([WRITER]));
    assert!(p["modifiedAt"].as_str().unwrap().ends_with('Z'));
    assert!(p.get("markdown").is_none(), "the list leaves the text out");

    let res = server.get("/api/plans/calm-otter").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let one: Value = res.json().await.unwrap();
    assert_eq!(one["markdown"], PLAN, "the stored text, byte for byte");
    assert_eq!(one["title"], p["title"]);
    assert_eq!(one["sessionIds"], json!([WRITER]));

    let missing = server.get_json("/api/plans/no-plan-here", 404).await;
    assert_eq!(missing["error"], "Plan not found");
}

#[tokio::test]
async fn a_plan_written_changed_and_removed_is_a_plan_update() {
    let server = TestServer::start(planned()).await;
    let mut sse = server.sse().await;
    let is_plan =
        |slug: &'static str| move |e: &Value| e["type"] == "plan-update" && e["slug"] == slug;

    server
        .tree
        .write("plans/no-plan-here.md", "# Second thoughts\n");
    sse.until(is_plan("no-plan-here")).await;
    let sessions = server.get_json("/api/sessions", 200).await;
    assert_eq!(item(&sessions, OTHER)["planSlug"], "no-plan-here");
    let path = "/api/plans/no-plan-here";
    plan_when(&server, &mut sse, "no-plan-here", path, 200, |p| {
        p["title"] == "Second thoughts"
    })
    .await;

    server
        .tree
        .write("plans/no-plan-here.md", "# Third thoughts\n");
    sse.until(is_plan("no-plan-here")).await;
    plan_when(&server, &mut sse, "no-plan-here", path, 200, |p| {
        p["title"] == "Third thoughts"
    })
    .await;

    #[expect(
        clippy::disallowed_methods,
        reason = "the test removes a plan as Claude Code would"
    )]
    std::fs::remove_file(server.tree.path("plans/no-plan-here.md")).unwrap();
    sse.until(is_plan("no-plan-here")).await;
    server.get_json("/api/plans/no-plan-here", 404).await;
    let sessions = server.get_json("/api/sessions", 200).await;
    assert_eq!(item(&sessions, OTHER)["planSlug"], Value::Null);

    // A session that takes a plan's slug later joins the plan's sessions.
    let late = "c0ffee00-3333-4000-8000-000000000003";
    server.tree.transcript(
        "-work",
        late,
        &[json!({"type":"user","cwd":"/work","slug":"calm-otter","sessionId":late})],
    );
    sse.until(is_plan("calm-otter")).await;
    let plan = server.get_json("/api/plans/calm-otter", 200).await;
    assert_eq!(plan["sessionIds"], json!([WRITER, late]));
}

#[tokio::test]
async fn unsafe_slugs_are_400_and_odd_plan_files_are_passed_over() {
    let tree = planned();
    tree.write("plans/has space.md", "# Not addressable\n");
    tree.write("plans/.hidden.md", "# Hidden\n");
    tree.write("plans/notes.txt", "# Not a plan\n");
    let fifo = tree.path("plans/fifo.md");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", tree.path("plans/zero.md")).unwrap();
    // A link to a file outside the Claude dir is never served, whatever it points to.
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.md");
    #[expect(clippy::disallowed_methods, reason = "a file outside the Claude dir")]
    std::fs::write(&secret, "# Secret\n").unwrap();
    std::os::unix::fs::symlink(&secret, tree.path("plans/leak.md")).unwrap();
    let server = TestServer::start(tree).await;
    let plans = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        server.get_json("/api/plans", 200),
    )
    .await
    .expect("answers promptly");
    let slugs: Vec<&str> = plans
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["calm-otter"]);
    for target in [
        "/api/plans/..%2Fsecret",
        "/api/plans/../secret",
        "/api/plans/%2e%2e",
        "/api/plans/has%20space",
        "/api/plans/.hidden",
        "/api/plans/a%00b",
    ] {
        let (status, body) = server.raw("GET", target).await;
        assert_eq!(status, 400, "{target}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(body["error"].is_string(), "{target}: {body}");
    }
    server.get_json("/api/plans/fifo", 404).await;
    server.get_json("/api/plans/leak", 404).await;
}
