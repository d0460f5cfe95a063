//! The gate: token on every route but health (HTTP and WebSocket), exact Host and Origin checks,
//! JSON-only state changes, body size limit, no CORS, and owner-only files.

use reqwest::Method;
use serde_json::json;

use crate::common::{Events, Server};

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/projects"),
    ("POST", "/api/projects"),
    ("GET", "/api/projects/x"),
    ("PATCH", "/api/projects/x"),
    ("DELETE", "/api/projects/x"),
    ("GET", "/api/tasks"),
    ("POST", "/api/tasks"),
    ("GET", "/api/tasks/x"),
    ("PATCH", "/api/tasks/x"),
    ("DELETE", "/api/tasks/x"),
    ("POST", "/api/tasks/x/subtasks"),
    ("PATCH", "/api/tasks/x/subtasks/y"),
    ("DELETE", "/api/tasks/x/subtasks/y"),
    ("PUT", "/api/tasks/x/dependencies"),
    ("GET", "/api/tasks/x/history"),
    ("GET", "/api/sessions"),
    ("POST", "/api/sessions"),
    ("GET", "/api/sessions/x"),
    ("PATCH", "/api/sessions/x"),
    ("DELETE", "/api/sessions/x"),
    ("POST", "/api/sessions/x/tasks/y"),
    ("DELETE", "/api/sessions/x/tasks/y"),
    ("GET", "/api/messages"),
    ("POST", "/api/messages"),
    ("GET", "/api/version"),
    ("GET", "/api/openapi.json"),
    ("GET", "/ws"),
    ("GET", "/api/no/such/route"),
];

fn method(m: &str) -> Method {
    m.parse().unwrap()
}

#[tokio::test]
async fn every_route_but_health_needs_the_token() {
    let s = Server::start().await;
    let client = reqwest::Client::new();
    for (m, path) in ROUTES {
        let url = format!("{}{path}", s.url);
        for auth in [
            None,
            Some("Bearer wrong"),
            Some(&*format!("Bearer {}x", s.token)),
            Some(&*format!("Basic {}", s.token)),
        ] {
            let mut req = client
                .request(method(m), &url)
                .header("content-type", "application/json")
                .body("{}");
            if let Some(auth) = auth {
                req = req.header("authorization", auth);
            }
            let r = s.send(req).await;
            assert_eq!(r.status, 401, "{m} {path} with {auth:?}");
            assert_eq!(r.body["code"], "unauthorized");
            assert_eq!(r.headers["www-authenticate"], "Bearer");
            assert!(
                !r.body.to_string().contains(&s.token),
                "the token is never echoed"
            );
        }
    }
    // A token in the query string is never accepted.
    let r = s
        .send(client.get(format!("{}/api/projects?token={}", s.url, s.token)))
        .await;
    assert_eq!(r.status, 401);
    let r = s.send(client.get(format!("{}/api/health", s.url))).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({ "status": "ok" })));
    assert_eq!(
        s.get("/api/version").await.body["version"],
        env!("CARGO_PKG_VERSION")
    );
}

#[tokio::test]
async fn a_foreign_host_is_refused_everywhere() {
    let s = Server::start().await;
    for host in [
        "evil.example",
        "evil.example:80",
        &format!("attacker.com:{}", s.port),
        "127.0.0.1",
        &format!("127.0.0.1:{}", s.port + 1),
        &format!("127.0.0.2:{}", s.port),
    ] {
        for path in ["/api/health", "/api/projects", "/no/such/route"] {
            let r = s
                .send(s.request(Method::GET, path).header("host", host))
                .await;
            assert_eq!(r.status, 403, "Host {host} on {path}");
            assert_eq!(r.body["code"], "forbidden");
        }
    }
    for host in [
        format!("localhost:{}", s.port),
        format!("127.0.0.1:{}", s.port),
        format!("LOCALHOST:{}", s.port),
    ] {
        let r = s
            .send(
                s.request(Method::GET, "/api/projects")
                    .header("host", &host),
            )
            .await;
        assert_eq!(r.status, 200, "Host {host}");
    }
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let s = Server::start().await;
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://127.0.0.1:{}.evil.example", s.port),
        &format!("https://127.0.0.1:{}", s.port),
        &format!("http://localhost:{}", s.port + 1),
    ] {
        let r = s
            .send(
                s.request(Method::GET, "/api/projects")
                    .header("origin", origin),
            )
            .await;
        assert_eq!(r.status, 403, "Origin {origin}");
        let r = s
            .send(
                s.request(Method::POST, "/api/projects")
                    .header("origin", origin)
                    .json(&json!({ "name": "x" })),
            )
            .await;
        assert_eq!(r.status, 403, "Origin {origin}");
    }
    assert_eq!(
        s.get("/api/projects").await.body,
        json!([]),
        "nothing was created"
    );
    for origin in [
        format!("http://127.0.0.1:{}", s.port),
        format!("http://localhost:{}", s.port),
    ] {
        let r = s
            .send(
                s.request(Method::GET, "/api/projects")
                    .header("origin", &origin),
            )
            .await;
        assert_eq!(r.status, 200, "own origin {origin}");
        assert!(
            r.headers.get("access-control-allow-origin").is_none(),
            "no CORS headers"
        );
    }
    let preflight = s
        .send(
            reqwest::Client::new()
                .request(Method::OPTIONS, format!("{}/api/projects", s.url))
                .header("origin", "http://evil.example")
                .header("access-control-request-method", "POST"),
        )
        .await;
    assert!(preflight
        .headers
        .get("access-control-allow-origin")
        .is_none());
    assert_ne!(preflight.status, 200);
}

#[tokio::test]
async fn the_websocket_takes_the_token_as_a_subprotocol_and_checks_host_and_origin() {
    let s = Server::start().await;
    // Token as subprotocol: accepted, and only `baton.v1` is answered.
    let mut req = s.ws_request("/ws");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        format!("baton.v1, bearer.{}", s.token).parse().unwrap(),
    );
    let (ws, response) = tokio_tungstenite::connect_async(req)
        .await
        .expect("handshake");
    assert_eq!(response.headers()["sec-websocket-protocol"], "baton.v1");
    drop(ws);
    // The Authorization header works too.
    let _events: Events = s.events().await;

    let refusals = [
        (vec![], 401),
        (
            vec![(
                "sec-websocket-protocol",
                "baton.v1, bearer.wrong".to_owned(),
            )],
            401,
        ),
        (
            vec![("sec-websocket-protocol", format!("bearer.{}", s.token))],
            401,
        ),
        (
            vec![
                (
                    "sec-websocket-protocol",
                    format!("baton.v1, bearer.{}", s.token),
                ),
                ("origin", "http://evil.example".to_owned()),
            ],
            403,
        ),
        (
            vec![
                (
                    "sec-websocket-protocol",
                    format!("baton.v1, bearer.{}", s.token),
                ),
                ("origin", "null".to_owned()),
            ],
            403,
        ),
        (
            vec![
                ("authorization", format!("Bearer {}", s.token)),
                ("host", "evil.example".to_owned()),
            ],
            403,
        ),
    ];
    for (headers, status) in refusals {
        let mut req = s.ws_request("/ws");
        for (k, v) in &headers {
            req.headers_mut().insert(*k, v.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), status, "{headers:?}")
            }
            other => panic!(
                "{headers:?} should be refused, got {:?}",
                other.map(|(_, r)| r.status())
            ),
        }
    }
    // Never through the query string.
    let req = s.ws_request(&format!("/ws?token={}", s.token));
    assert!(matches!(
        tokio_tungstenite::connect_async(req).await,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status().as_u16() == 401
    ));
}

#[tokio::test]
async fn state_changes_must_be_json() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let cases = [
        (
            Method::POST,
            "/api/projects",
            Some("text/plain"),
            r#"{"name":"x"}"#,
        ),
        (
            Method::POST,
            "/api/projects",
            Some("application/x-www-form-urlencoded"),
            "name=x",
        ),
        (
            Method::POST,
            "/api/projects",
            Some("multipart/form-data; boundary=x"),
            "--x--",
        ),
        (Method::POST, "/api/projects", None, r#"{"name":"x"}"#),
        (
            Method::PATCH,
            &format!("/api/projects/{p}"),
            Some("text/plain"),
            r#"{"name":"y"}"#,
        ),
        (
            Method::DELETE,
            &format!("/api/projects/{p}"),
            Some("text/plain"),
            "",
        ),
    ];
    for (m, path, content_type, body) in cases {
        let mut req = s.request(m.clone(), path).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = s.send(req).await;
        assert_eq!(r.status, 415, "{m} {path} {content_type:?}");
        assert_eq!(r.body["code"], "unsupported_media_type");
    }
    let projects = s.get("/api/projects").await.body;
    assert_eq!(
        projects.as_array().unwrap().len(),
        1,
        "nothing created, nothing deleted"
    );
    assert_eq!(projects[0]["name"], "p");
    let r = s
        .send(
            s.request(Method::POST, "/api/projects")
                .header("content-type", "application/json; charset=utf-8")
                .body(r#"{"name":"ok"}"#),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_refused() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let big = "x".repeat(1024 * 1024 + 1);
    let r = s
        .post("/api/messages", json!({ "projectId": p, "body": big }))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    // Regression: the unread rest of the body makes the connection unusable; a client that was
    // not told so reused it and saw the next request fail.
    assert_eq!(r.headers["connection"], "close");
    // Without a declared length (chunked), the limit holds while reading.
    let chunks: Vec<Result<String, std::io::Error>> = vec![
        Ok(format!(r#"{{"projectId":"{p}","body":""#)),
        Ok("y".repeat(1024 * 1024)),
        Ok(r#""}"#.to_owned()),
    ];
    let stream = futures_util::stream::iter(chunks);
    let r = s
        .send(
            s.request(Method::POST, "/api/messages")
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(
        s.get(&format!("/api/messages?projectId={p}")).await.body,
        json!([])
    );
    let just_under = "z".repeat(1000 * 1024);
    assert_eq!(
        s.post(
            "/api/messages",
            json!({ "projectId": p, "body": just_under })
        )
        .await
        .status,
        201
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_token_file_and_data_folder_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // A folder someone made world-readable is tightened.
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = Server::start_in(&dir).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("token")), 0o600);
    assert_eq!(s.token.len(), 64);
    assert!(s.token.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// The OpenAPI document is generated from the handlers: every route of the API is in it.
#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let s = Server::start().await;
    let r = s.get("/api/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(r.body["info"]["version"], env!("CARGO_PKG_VERSION"));
    let paths = r.body["paths"].as_object().unwrap();
    for (m, path) in ROUTES.iter().chain(&[("GET", "/api/health")]) {
        if *path == "/api/no/such/route" || *path == "/api/openapi.json" {
            continue;
        }
        // `/api/tasks/x/subtasks/y` → `/api/tasks/{id}/subtasks/{sid}` and so on.
        let found = paths.iter().any(|(template, ops)| {
            let t: Vec<&str> = template.split('/').collect();
            let p: Vec<&str> = path.split('/').collect();
            t.len() == p.len()
                && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
                && ops.get(m.to_lowercase()).is_some()
        });
        assert!(found, "{m} {path} is not in the OpenAPI document");
    }
    let schemas = r.body["components"]["schemas"].as_object().unwrap();
    for name in [
        "Project",
        "Task",
        "Session",
        "Message",
        "HistoryEntry",
        "ErrorBody",
        "NewTask",
        "TaskStatus",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert_eq!(
        r.body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// The web UI's files are public (they hold no data), with a strict CSP; the API behind them is not.
#[tokio::test]
async fn the_web_ui_is_served_without_the_token_but_with_a_strict_policy() {
    let s = Server::start().await;
    let page = reqwest::get(format!("{}/", s.url)).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<title>Baton</title>") || html.contains("not built"),
        "{html}"
    );
    assert!(!html.contains(&s.token));
    // A foreign Host is refused here too, and the API still needs the token.
    let r = s
        .send(
            reqwest::Client::new()
                .get(format!("{}/", s.url))
                .header("host", "evil.example"),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = s
        .send(reqwest::Client::new().get(format!("{}/api/projects", s.url)))
        .await;
    assert_eq!(r.status, 401);
    let r = s
        .send(
            reqwest::Client::new()
                .post(format!("{}/", s.url))
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_ne!(r.status, 200, "only reads are public");

    // Compressed, and cached by name: hashed assets for good, the page never without asking.
    let page = reqwest::get(format!("{}/", s.url)).await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    let asset = html
        .split('"')
        .find(|p| p.starts_with("./assets/") && p.ends_with(".js"))
        .expect("a script under assets/")
        .trim_start_matches('.')
        .to_owned();
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let plain = raw.get(format!("{}{asset}", s.url)).send().await.unwrap();
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    let zipped = raw
        .get(format!("{}{asset}", s.url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let zipped_len = zipped.bytes().await.unwrap().len();
    assert!(
        zipped_len * 2 < plain_len,
        "gzip: {zipped_len} of {plain_len} bytes"
    );
}

#[tokio::test]
async fn the_admin_token_can_be_replaced_and_the_old_one_stops_working() {
    let mut s = Server::start().await;
    let old = s.token.clone();
    let r = s.post_empty("/api/token/regenerate").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let new = r.body["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        std::fs::read_to_string(s.data_dir.join("token"))
            .unwrap()
            .trim(),
        new,
        "stored"
    );
    assert_eq!(
        s.get("/api/projects").await.status,
        401,
        "the old token is refused"
    );
    s.token = new;
    assert_eq!(s.get("/api/projects").await.status, 200);
    // And it survives a restart.
    let s = s.restart().await;
    assert_eq!(s.get("/api/projects").await.status, 200);
}

#[tokio::test]
async fn a_method_a_route_does_not_have_is_405_with_allow_and_a_bodiless_request_needs_no_type() {
    let s = Server::start().await;
    let p = s.project("p").await;
    for (method, path, allow) in [
        (Method::PUT, "/api/health".to_owned(), "GET"),
        (Method::DELETE, "/api/tasks".to_owned(), "GET, POST"),
        (
            Method::POST,
            format!("/api/projects/{p}"),
            "GET, PATCH, DELETE",
        ),
    ] {
        // Even with a body type that would be refused: the method is wrong first.
        let r = s
            .send(
                s.request(method.clone(), &path)
                    .header("content-type", "text/plain"),
            )
            .await;
        assert_eq!(r.status, 405, "{method} {path}: {:?}", r.body);
        assert_eq!(r.headers["allow"], allow, "{method} {path}");
        assert_eq!(r.body["code"], "method_not_allowed");
    }
    // Without the token, a wrong method says nothing about the route.
    let r = reqwest::Client::new()
        .put(format!("{}/api/tasks", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A request with no body needs no Content-Type (a body still does).
    let t = s.task(&p, serde_json::json!({})).await;
    let sid = s
        .post("/api/sessions", serde_json::json!({ "projectId": p }))
        .await
        .id();
    let r = s
        .send(s.request(Method::POST, &format!("/api/sessions/{sid}/tasks/{t}")))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = s
        .send(
            s.request(Method::POST, "/api/projects")
                .body(r#"{"name":"x"}"#),
        )
        .await;
    assert_eq!(r.status, 415);
}

/// Two `Authorization` headers are refused, whatever their order: a request must not be taken
/// for whichever credential a layer happens to read first.
#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let s = Server::start().await;
    let p = s.project("p").await;
    let client = reqwest::Client::new();
    for (first, second) in [
        (s.token.as_str(), "bst_forged"),
        ("bst_forged", s.token.as_str()),
    ] {
        let r = client
            .get(format!("{}/api/projects/{p}", s.url))
            .header("authorization", format!("Bearer {first}"))
            .header("authorization", format!("Bearer {second}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    assert_eq!(s.get(&format!("/api/projects/{p}")).await.status, 200);
}
