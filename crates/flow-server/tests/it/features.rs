//! `/api/features` against a real SQLite file (contract §5).

use serde_json::{Value, json};

use crate::support::{ClaudeTree, TestServer};

fn config(tree: &ClaudeTree) -> flow_server::Config {
    let mut config = flow_server::Config::for_claude_dir(tree.path("claude"));
    config.db = Some(crate::support::feature_db(tree));
    config
}

async fn start() -> TestServer {
    let tree = ClaudeTree::new();
    let cfg = config(&tree);
    TestServer::start_with(tree, cfg).await
}

async fn create(server: &TestServer, body: Value) -> Value {
    let res = server.post_json("/api/features", &body.to_string()).await;
    assert_eq!(res.status(), 201, "{body}");
    res.json().await.unwrap()
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = server.client.request(method, server.url(path));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

async fn list(server: &TestServer) -> Value {
    server.get_json("/api/features", 200).await
}

#[tokio::test]
async fn crud_round_trip_with_derived_state_and_etag() {
    let server = start().await;
    let a = create(&server, json!({"name":"Login","category":"backend","steps":["form", {"text":"session","done":true}]})).await;
    assert_eq!(a["id"], 1);
    assert_eq!(
        a["steps"],
        json!([{"text":"form","done":false},{"text":"session","done":true}])
    );
    assert_eq!(
        (a["status"].clone(), a["state"].clone()),
        (json!("pending"), json!("ready"))
    );
    assert_eq!(
        (a["passes"].clone(), a["inProgress"].clone()),
        (json!(false), json!(false))
    );
    let b = create(&server, json!({"name":"Profile","dependencies":[1]})).await;
    assert_eq!(
        (b["state"].clone(), b["blockedBy"].clone()),
        (json!("blocked"), json!([1]))
    );

    let res = server.get(&format!("/api/features/{}", 2)).await;
    assert_eq!(res.headers()["etag"], format!("\"{}\"", b["version"]));
    let one: Value = res.json().await.unwrap();
    assert_eq!(one["rootBlockers"], json!([1]));
    let a_one = server.get_json("/api/features/1", 200).await;
    assert_eq!(a_one["wouldUnblock"], json!([2]));
    assert_eq!(a_one["dependents"], json!([2]));

    let (status, patched) = send(
        &server,
        reqwest::Method::PATCH,
        "/api/features/1",
        Some(json!({"description":"OAuth too","priority":9})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["description"], "OAuth too");
    assert!(patched["version"].as_i64() > a["version"].as_i64());

    let stale = server
        .client
        .patch(server.url("/api/features/1"))
        .header("content-type", "application/json")
        .header("if-match", format!("\"{}\"", a["version"]))
        .body(json!({"name":"x"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(
        stale.json::<Value>().await.unwrap()["code"],
        "version_mismatch"
    );

    let all = list(&server).await;
    let ids: Vec<_> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2)], "dependency order");
    assert_eq!(all["counts"]["total"], 2);
    assert_eq!(all["counts"]["ready"], 1);
    assert_eq!(all["counts"]["blocked"], 1);
}

#[tokio::test]
async fn validation_errors_carry_codes_and_evidence() {
    let server = start().await;
    create(&server, json!({"name":"A"})).await;
    create(&server, json!({"name":"B","dependencies":[1]})).await;
    let cases = [
        (
            reqwest::Method::POST,
            "/api/features",
            json!({"name":"  "}),
            422,
            "validation_failed",
        ),
        (
            reqwest::Method::POST,
            "/api/features",
            json!({"name":"x","colour":"red"}),
            422,
            "unknown_field",
        ),
        (
            reqwest::Method::POST,
            "/api/features",
            json!({"name":"x","dependencies":[99]}),
            422,
            "unknown_dependency",
        ),
        (
            reqwest::Method::PATCH,
            "/api/features/1",
            json!({"dependencies":[1]}),
            422,
            "self_dependency",
        ),
        (
            reqwest::Method::PATCH,
            "/api/features/1",
            json!({"dependencies":[2]}),
            409,
            "dependency_cycle",
        ),
        (
            reqwest::Method::PATCH,
            "/api/features/2",
            json!({"status":"in_progress"}),
            409,
            "feature_blocked",
        ),
        (
            reqwest::Method::PATCH,
            "/api/features/42",
            json!({"name":"x"}),
            404,
            "feature_not_found",
        ),
        (
            reqwest::Method::PATCH,
            "/api/features/abc",
            json!({"name":"x"}),
            400,
            "invalid_id",
        ),
        (
            reqwest::Method::DELETE,
            "/api/features/1",
            json!({}),
            409,
            "has_dependents",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, res) = send(&server, method.clone(), path, Some(body.clone())).await;
        assert_eq!(
            (got, res["code"].as_str().unwrap_or("")),
            (status, code),
            "{method} {path} {body}: {res}"
        );
    }
    let (_, cycle) = send(
        &server,
        reqwest::Method::PATCH,
        "/api/features/1",
        Some(json!({"dependencies":[2]})),
    )
    .await;
    assert_eq!(cycle["cycle"], json!([1, 2, 1]));
    let (_, blocked) = send(
        &server,
        reqwest::Method::PATCH,
        "/api/features/2",
        Some(json!({"status":"in_progress"})),
    )
    .await;
    assert_eq!(blocked["blockedBy"], json!([1]));
    let (_, deps) = send(&server, reqwest::Method::DELETE, "/api/features/1", None).await;
    assert_eq!(deps["dependents"], json!([2]));
    let plain = server
        .client
        .post(server.url("/api/features"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
}

#[tokio::test]
async fn a_cycle_through_patch_edge_or_bulk_changes_nothing() {
    let server = start().await;
    create(&server, json!({"name":"A"})).await;
    create(&server, json!({"name":"B","dependencies":[1]})).await;
    create(&server, json!({"name":"C","dependencies":[2]})).await;
    let before = list(&server).await;
    let (s1, _) = send(
        &server,
        reqwest::Method::PATCH,
        "/api/features/1",
        Some(json!({"dependencies":[3],"name":"renamed"})),
    )
    .await;
    let (s2, e2) = send(
        &server,
        reqwest::Method::PUT,
        "/api/features/1/dependencies/3",
        None,
    )
    .await;
    let (s3, _) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/bulk",
        Some(json!({"features":[
            {"name":"D","ref":"d","dependsOnRefs":[]},
            {"name":"E","dependencies":[3]},
        ]})),
    )
    .await;
    assert_eq!((s1, s2), (409, 409));
    assert_eq!(e2["cycle"], json!([1, 3, 2, 1]));
    assert_eq!(s3, 201, "an acyclic batch is fine");
    let (s4, e4) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/bulk",
        Some(json!({"features":[
            {"name":"F"},
            {"name":"G","dependencies":[99]},
        ]})),
    )
    .await;
    assert_eq!(s4, 422, "{e4}");
    let after = list(&server).await;
    let names = |v: &Value| {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&after),
        [names(&before), vec!["D".into(), "E".into()]].concat(),
        "nothing of the failed writes landed"
    );
    assert_eq!(after["features"][0]["name"], "A");
}

#[tokio::test]
async fn a_chain_of_500_still_accepts_a_dependency() {
    let server = start().await;
    let mut items = vec![json!({"name":"f0","ref":"f0"})];
    for i in 1..500 {
        items.push(json!({"name":format!("f{i}"),"ref":format!("f{i}"),"dependsOnRefs":[format!("f{}", i - 1)]}));
    }
    let (status, created) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/bulk",
        Some(json!({"features":items})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let extra = create(&server, json!({"name":"tail"})).await;
    let (status, _) = send(
        &server,
        reqwest::Method::PUT,
        &format!("/api/features/{}/dependencies/500", extra["id"]),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, cyc) = send(
        &server,
        reqwest::Method::PUT,
        "/api/features/1/dependencies/500",
        None,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(cyc["cycle"].as_array().unwrap().len(), 501);
}

#[tokio::test]
async fn concurrent_claims_never_share_a_feature() {
    let server = start().await;
    for round in 0..50 {
        let items: Vec<Value> = (0..10)
            .map(|i| json!({"name":format!("r{round} f{i}"),"project":format!("r{round}")}))
            .collect();
        let (status, _) = send(
            &server,
            reqwest::Method::POST,
            "/api/features/bulk",
            Some(json!({"features":items})),
        )
        .await;
        assert_eq!(status, 201);
        let claims = (0..16).map(|i| {
            let server = &server;
            async move {
                let (status, body) = send(
                    server,
                    reqwest::Method::POST,
                    "/api/features/claim",
                    Some(json!({"agent":format!("agent-{i}")})),
                )
                .await;
                assert_eq!(status, 200, "{body}");
                body
            }
        });
        let results = futures_util::future::join_all(claims).await;
        let mut ids: Vec<i64> = results
            .iter()
            .filter_map(|r| r["feature"]["id"].as_i64())
            .collect();
        let empty: Vec<_> = results
            .iter()
            .filter(|r| r["feature"].is_null())
            .map(|r| r["reason"].clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10, "round {round}: {results:?}");
        assert_eq!(empty, vec![json!("all_claimed"); 6], "round {round}");
        // Finish the round so the next one starts from ready features only.
        for r in &results {
            if let Some(id) = r["feature"]["id"].as_i64() {
                let token = r["claimToken"].as_str().unwrap();
                let (s, _) = send(
                    &server,
                    reqwest::Method::POST,
                    &format!("/api/features/{id}/complete"),
                    Some(json!({"claimToken":token})),
                )
                .await;
                assert_eq!(s, 200);
            }
        }
    }
}

#[tokio::test]
async fn an_expired_lease_is_claimable_and_the_old_token_is_lost() {
    let tree = ClaudeTree::new();
    let mut cfg = config(&tree);
    let clock = flow_core::time::ManualClock::starting_now();
    cfg.clock = clock.clock();
    let server = TestServer::start_with(tree, cfg).await;
    create(&server, json!({"name":"only"})).await;
    let (_, first) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/claim",
        Some(json!({"agent":"a","leaseSecs":1})),
    )
    .await;
    let old = first["claimToken"].as_str().unwrap().to_owned();
    let (_, none) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/claim",
        Some(json!({"agent":"b"})),
    )
    .await;
    assert_eq!(none["reason"], "all_claimed");
    // The lease is a deadline on the server's clock: move the clock past it.
    clock.advance(std::time::Duration::from_millis(999));
    let (_, still) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/claim",
        Some(json!({"agent":"b"})),
    )
    .await;
    assert_eq!(still["reason"], "all_claimed", "1 ms before the deadline");
    clock.advance(std::time::Duration::from_millis(1));
    let (_, second) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/claim",
        Some(json!({"agent":"b"})),
    )
    .await;
    assert_eq!(second["feature"]["id"], 1, "{second}");
    assert_eq!(second["feature"]["claimedBy"], "b");
    let (status, lost) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/1/heartbeat",
        Some(json!({"claimToken":old})),
    )
    .await;
    assert_eq!((status, lost["code"].clone()), (409, json!("lease_lost")));
    let (status, _) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/1/complete",
        Some(json!({"claimToken":old})),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn completing_a_pushes_b_becoming_ready_to_sse_and_ws() {
    let server = start().await;
    create(&server, json!({"name":"A"})).await;
    create(&server, json!({"name":"B","dependencies":[1]})).await;
    let mut sse = server.sse().await;
    let mut ws = server.ws().await;
    let (status, done) = send(
        &server,
        reqwest::Method::POST,
        "/api/features/1/complete",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["unblocked"], json!([2]));
    let is_b = |e: &Value| e["type"] == "feature-update" && e["featureId"] == 2;
    let (event, _) = sse.until(is_b).await;
    assert_eq!(
        event,
        json!({"type":"feature-update","event":"change","featureId":2})
    );
    let (event, _) = ws.until(is_b).await;
    assert_eq!(event["event"], "change");
    assert_eq!(
        server.get_json("/api/features/2", 200).await["state"],
        "ready"
    );
}

#[tokio::test]
async fn delete_with_dependents_needs_detach() {
    let server = start().await;
    create(&server, json!({"name":"A"})).await;
    create(&server, json!({"name":"B","dependencies":[1]})).await;
    let (status, _) = send(&server, reqwest::Method::DELETE, "/api/features/1", None).await;
    assert_eq!(status, 409);
    let (status, _) = send(
        &server,
        reqwest::Method::DELETE,
        "/api/features/1?detach=true",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let b = server.get_json("/api/features/2", 200).await;
    assert_eq!(
        (b["dependencies"].clone(), b["state"].clone()),
        (json!([]), json!("ready"))
    );
    let c = create(&server, json!({"name":"C"})).await;
    assert_eq!(c["id"], 3, "ids are never reused");
}

#[tokio::test]
async fn a_restart_keeps_everything() {
    let tree = ClaudeTree::new();
    let cfg = config(&tree);
    let server = TestServer::start_with(tree, cfg.clone()).await;
    create(&server, json!({"name":"A","steps":["one"]})).await;
    create(&server, json!({"name":"B","dependencies":[1]})).await;
    let before = list(&server).await;
    let tree = server.tree_after_stop().await;
    let again = TestServer::start_with(tree, cfg).await;
    assert_eq!(list(&again).await, before);
}

#[tokio::test]
async fn store_off_answers_features_disabled() {
    let server = TestServer::start(ClaudeTree::new()).await;
    for path in [
        "/api/features",
        "/api/features/1",
        "/api/features/ready",
        "/api/features/stats",
    ] {
        let body = server.get_json(path, 404).await;
        assert_eq!(
            body,
            json!({"error":"Feature store is disabled","code":"features_disabled"}),
            "{path}"
        );
    }
}
