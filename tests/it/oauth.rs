//! Subscription logins through the management API, against fake login servers on loopback:
//! GitHub Copilot's device code, its token minting and renewal, revocation and re-login.
use std::time::{Duration, Instant};

use crate::support::fake_claude::{EMAIL, FakeClaude};
use crate::support::fake_github::{FakeGithub, USER_CODE};
use crate::support::fake_qwen::{FakeQwen, USER_CODE as QWEN_CODE};
use crate::support::{Behavior, FakeOpenAi, Router};
use ninerouter::secrets::BackendChoice;
use reqwest::Method;
use serde_json::{Value, json};

/// Runs a device-code login through the API: start, check the code shown, wait for the end.
async fn device_login(
    router: &Router,
    provider: &str,
    body: Option<Value>,
    user_code: &str,
) -> (String, Value) {
    let (status, started) = router
        .api(Method::POST, &format!("/api/oauth/{provider}/start"), body)
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["kind"], "device");
    assert_eq!(started["userCode"], user_code);
    let id = started["loginId"].as_str().expect("login id").to_owned();
    let path = format!("/api/oauth/{provider}/{id}");
    let (_, waiting) = router.api(Method::GET, &path, None).await;
    assert_eq!(waiting["login"]["userCode"], user_code, "{waiting}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, now) = router.api(Method::GET, &path, None).await;
        if now["login"]["status"] != "waiting" {
            return (
                started["verificationUri"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                now["login"].clone(),
            );
        }
        assert!(Instant::now() < deadline, "the login never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn login(router: &Router, body: Option<Value>) -> (String, Value) {
    let (uri, done) = device_login(router, "gh", body, USER_CODE).await;
    assert_eq!(uri, "https://github.com/login/device");
    (uri, done)
}

async fn accounts(router: &Router) -> Vec<Value> {
    let (_, list) = router.api(Method::GET, "/api/connections", None).await;
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["provider"] == "github")
        .cloned()
        .collect()
}

async fn accounts_of(router: &Router, provider: &str) -> Vec<Value> {
    let (_, list) = router.api(Method::GET, "/api/connections", None).await;
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["provider"] == provider)
        .cloned()
        .collect()
}

fn last_key(fake: &FakeOpenAi) -> Option<String> {
    fake.keys_seen().last().cloned()
}

#[tokio::test]
async fn a_copilot_login_by_device_code_becomes_a_routable_account_with_fresh_tokens() {
    let copilot = FakeOpenAi::start().await;
    let github = FakeGithub::start(&copilot.base_url()).await;
    let router = Router::start(&github.config()).await;

    // The user approves after two polls and one request to slow down.
    github.answer_polls_with(&[
        "authorization_pending",
        "slow_down",
        "authorization_pending",
    ]);
    let started = Instant::now();
    let (_, done) = login(&router, None).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["name"], "octocat");
    assert_eq!(github.token_polls(), 4);
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "slow_down adds five seconds"
    );
    let account_id = done["accountId"].as_str().expect("account").to_owned();
    let listed = accounts(&router).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "octocat");
    assert_eq!(listed[0]["id"], account_id.as_str());
    // Proving the subscription minted one token already; requests mint their own once.
    assert_eq!(github.minted(), 1);

    // Its quota: the monthly premium-request allowance, with the reset date.
    let windows = quota_windows(&router, &account_id).await;
    assert_eq!(windows.len(), 1, "{windows:?}");
    assert_eq!(windows[0]["window"], "monthly");
    assert_eq!(windows[0]["metric"], "premium-requests");
    assert_eq!(windows[0]["remaining"], 213.5);
    assert_eq!(windows[0]["limit"], 300.0);

    let (status, served_by, _) = router.ask("gh/gpt-4o").await;
    assert_eq!(status, 200);
    assert_eq!(served_by.as_deref(), Some(account_id.as_str()));
    assert_eq!(last_key(&copilot).as_deref(), Some("copilot-2"));
    assert_eq!(router.ask("gh/gpt-4o").await.0, 200);
    assert_eq!(
        last_key(&copilot).as_deref(),
        Some("copilot-2"),
        "reused while fresh"
    );
    assert_eq!(github.minted(), 2);

    // Short-lived tokens are renewed ahead of expiry (halfway), by one mint for many requests.
    github.set_lifetime_secs(4);
    // Force a renewal so the next token is short-lived: the provider refuses copilot-2 once.
    copilot.script("copilot-2", [Behavior::status(401)]);
    assert_eq!(
        router.ask("gh/gpt-4o").await.0,
        200,
        "a 401 re-mints once and retries"
    );
    assert_eq!(last_key(&copilot).as_deref(), Some("copilot-3"));
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let burst: Vec<_> = (0..8).map(|_| router.ask("gh/gpt-4o")).collect();
    for (status, _, _) in futures_util::future::join_all(burst).await {
        assert_eq!(status, 200);
    }
    assert_eq!(github.minted(), 4, "one renewal for the whole burst");
    assert_eq!(last_key(&copilot).as_deref(), Some("copilot-4"));

    // The login is revoked: the account is set aside until the user logs in again.
    github.set_lifetime_secs(1800);
    github.set_mint_status(Some(401));
    copilot.script("copilot-4", [Behavior::status(401)]);
    let (status, _, body) = router.ask("gh/gpt-4o").await;
    assert!(status >= 400, "{body}");
    let account = assert_needs_login(&router, &account_id).await;
    let reason = account["cooldowns"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.starts_with("needs login"), "{reason}");
    assert!(
        !reason.contains("gho_"),
        "no secret in the reason: {reason}"
    );

    // Logging in again renews the same account in place.
    github.set_mint_status(None);
    let (_, again) = login(&router, Some(json!({"accountId": account_id}))).await;
    assert_eq!(again["status"], "done", "{again}");
    assert_eq!(again["accountId"], account_id.as_str());
    assert_eq!(accounts(&router).await.len(), 1);
    let (_, account) = connection(&router, &account_id).await;
    assert_eq!(account["state"], "active", "{account}");
    assert_eq!(router.ask("gh/gpt-4o").await.0, 200);
}

#[tokio::test]
async fn failed_and_cancelled_logins_leave_nothing_behind() {
    let copilot = FakeOpenAi::start().await;
    let github = FakeGithub::start(&copilot.base_url()).await;
    let router = Router::start(&github.config()).await;

    github.answer_polls_with(&["authorization_pending", "access_denied"]);
    let (_, denied) = login(&router, None).await;
    assert_eq!(denied["status"], "failed");
    assert_eq!(denied["message"], "the login was denied");

    github.answer_polls_with(&["expired_token"]);
    let (_, expired) = login(&router, None).await;
    assert_eq!(expired["status"], "failed");
    assert!(
        expired["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expired")
    );

    // Approved, but the GitHub account has no Copilot.
    github.set_mint_status(Some(403));
    let (_, no_copilot) = login(&router, None).await;
    assert_eq!(no_copilot["status"], "failed");
    assert_eq!(
        no_copilot["message"],
        "this GitHub account has no Copilot subscription"
    );
    github.set_mint_status(None);

    // Cancelled while waiting.
    github.answer_polls_with(&["authorization_pending"; 200]);
    let (status, started) = router
        .api(Method::POST, "/api/oauth/github/start", None)
        .await;
    assert_eq!(status, 202);
    let id = started["loginId"].as_str().expect("id");
    let (status, _) = router
        .api(Method::DELETE, &format!("/api/oauth/github/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (_, after) = router
        .api(Method::GET, &format!("/api/oauth/github/{id}"), None)
        .await;
    assert_eq!(after["login"]["status"], "cancelled");

    assert!(accounts(&router).await.is_empty(), "nothing was stored");

    // Bad requests say what is wrong.
    let (status, body) = router
        .api(Method::POST, "/api/oauth/nope/start", None)
        .await;
    assert_eq!(status, 404, "{body}");
    // An API-key provider has no login.
    let (status, body) = router
        .api(Method::POST, "/api/oauth/openai/start", None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "provider");
    let (status, body) = router
        .api(
            Method::POST,
            "/api/oauth/gh/start",
            Some(json!({"accountId": "missing"})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = router
        .api(Method::GET, "/api/oauth/gh/no-such-login", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_qwen_login_uses_pkce_and_its_refreshed_tokens_survive_a_restart() {
    let api = FakeOpenAi::start().await;
    let origin = api.base_url().trim_end_matches("/v1").to_owned();
    let qwen = FakeQwen::start(&origin).await;
    let router = Router::start_with(&qwen.config(), BackendChoice::File, "ninerouter-test").await;

    // The server checks the PKCE verifier against the challenge sent with the code request.
    qwen.answer_polls_with(&["authorization_pending"]);
    let (uri, done) = device_login(&router, "qw", None, QWEN_CODE).await;
    assert!(
        uri.ends_with(&format!("?user_code={QWEN_CODE}&client=qwen-code")),
        "{uri}"
    );
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["name"], "qwen");
    let account_id = done["accountId"].as_str().expect("account").to_owned();

    // Requests go to the account's resource_url with its access token.
    assert_eq!(router.ask("qw/qwen3-coder-plus").await.0, 200);
    assert_eq!(last_key(&api).as_deref(), Some("qwen-access-1"));

    // A refused access token is refreshed once and the request retried.
    api.script("qwen-access-1", [Behavior::status(401)]);
    assert_eq!(router.ask("qw/qwen3-coder-plus").await.0, 200);
    assert_eq!(last_key(&api).as_deref(), Some("qwen-access-2"));
    assert_eq!(qwen.refreshes(), 1);

    // Short-lived tokens are refreshed ahead of expiry, once for a burst.
    qwen.set_expires_in(4);
    api.script("qwen-access-2", [Behavior::status(401)]);
    assert_eq!(router.ask("qw/qwen3-coder-plus").await.0, 200);
    assert_eq!(last_key(&api).as_deref(), Some("qwen-access-3"));
    qwen.set_expires_in(3600);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let burst: Vec<_> = (0..6).map(|_| router.ask("qw/qwen3-coder-plus")).collect();
    for (status, _, _) in futures_util::future::join_all(burst).await {
        assert_eq!(status, 200);
    }
    assert_eq!(qwen.refreshes(), 3, "one refresh for the burst");
    assert_eq!(last_key(&api).as_deref(), Some("qwen-access-4"));

    // The refreshed set was saved: after a restart the same token serves, without a refresh
    // (the old refresh tokens would be refused now).
    let router = router.restart().await;
    assert_eq!(router.ask("qw/qwen3-coder-plus").await.0, 200);
    assert_eq!(last_key(&api).as_deref(), Some("qwen-access-4"));
    assert_eq!(qwen.refreshes(), 3);

    // A refused refresh token means the login was revoked: the account waits for a new login.
    qwen.revoke();
    api.script("qwen-access-4", [Behavior::status(401)]);
    let (status, _, _) = router.ask("qw/qwen3-coder-plus").await;
    assert!(status >= 400);
    let (_, account) = connection(&router, &account_id).await;
    let reason = account["cooldowns"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.starts_with("needs login"), "{reason}");
    assert!(!reason.contains("qwen-refresh"), "{reason}");
    assert_eq!(accounts_of(&router, "qwen").await.len(), 1);
}

/// Finishes an authorization-code login with what the user pasted.
async fn paste(router: &Router, id: &str, code: impl Into<String>) -> (u16, Value) {
    let code: String = code.into();
    router
        .api(
            Method::POST,
            &format!("/api/oauth/cc/{id}/complete"),
            Some(json!({ "code": code })),
        )
        .await
}

/// The account as `GET /api/connections/{id}` shows it.
async fn connection(router: &Router, id: &str) -> (u16, Value) {
    router
        .api(Method::GET, &format!("/api/connections/{id}"), None)
        .await
}

/// Asserts the account waits for a new login; the account as the API shows it.
async fn assert_needs_login(router: &Router, account_id: &str) -> Value {
    let (_, account) = connection(router, account_id).await;
    assert_eq!(account["state"], "needs-login", "{account}");
    account
}

/// Fetches the account's quota now; its windows.
async fn quota_windows(router: &Router, account_id: &str) -> Vec<Value> {
    let (status, quota) = router
        .api(
            Method::POST,
            &format!("/api/quota/{account_id}/refresh"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{quota}");
    quota["windows"].as_array().cloned().unwrap_or_default()
}

/// Clears the account's cooldowns.
async fn reset(router: &Router, account_id: &str) {
    router
        .api(
            Method::POST,
            &format!("/api/connections/{account_id}/reset"),
            None,
        )
        .await;
}

/// The authorize URL's query parameter `name`.
fn query_param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .expect("an URL")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn start_claude(router: &Router, body: Option<Value>) -> (String, String, String) {
    let (status, started) = router.api(Method::POST, "/api/oauth/cc/start", body).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["kind"], "authorize");
    assert_eq!(
        started["redirectUri"],
        "https://console.anthropic.com/oauth/code/callback"
    );
    let url = started["authorizeUrl"].as_str().expect("url").to_owned();
    let id = started["loginId"].as_str().expect("id").to_owned();
    (
        id,
        query_param(&url, "code_challenge"),
        query_param(&url, "state"),
    )
}

#[tokio::test]
async fn a_claude_login_by_pasted_code_serves_messages_as_claude_code() {
    let claude = FakeClaude::start().await;
    let router = Router::start_with(&claude.config(), BackendChoice::File, "ninerouter-test").await;

    // A paste that is not a code, and a code from another login, are refused clearly.
    let (id, challenge, _) = start_claude(&router, None).await;
    let (_, waiting) = router
        .api(Method::GET, &format!("/api/oauth/cc/{id}"), None)
        .await;
    assert_eq!(waiting["login"]["status"], "awaiting-code", "{waiting}");
    let (status, body) = paste(&router, &id, "nonsense").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "code");
    let code = claude.approve(&challenge);
    let (status, body) = paste(&router, &id, format!("{code}#not-the-state")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("state mismatch")
    );
    // A forged code cannot end the user's login: it still waits for its own.
    let (_, still) = router
        .api(Method::GET, &format!("/api/oauth/cc/{id}"), None)
        .await;
    assert_eq!(still["login"]["status"], "awaiting-code", "{still}");
    assert!(accounts_of(&router, "claude").await.is_empty());
    router
        .api(Method::DELETE, &format!("/api/oauth/cc/{id}"), None)
        .await;

    // Approve, paste the callback page's address: the account is named by its e-mail.
    let (id, challenge, state) = start_claude(&router, None).await;
    let code = claude.approve(&challenge);
    let pasted =
        format!("https://console.anthropic.com/oauth/code/callback?code={code}&state={state}");
    let (status, done) = paste(&router, &id, pasted).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["login"]["status"], "done");
    assert_eq!(done["login"]["name"], EMAIL);
    let account_id = done["login"]["accountId"]
        .as_str()
        .expect("account")
        .to_owned();

    // Requests carry the subscription token the way Claude Code does.
    let (status, _, body) = router.ask("cc/claude-sonnet-4-5").await;
    assert_eq!(status, 200, "{body}");
    let (auth, beta, api_key, sent) = claude.last_message().expect("a message");
    assert_eq!(auth, "Bearer claude-access-1");
    assert!(beta.contains("oauth-2025-04-20"), "{beta}");
    assert!(!api_key, "no x-api-key with a subscription token");
    assert_eq!(
        sent["system"][0]["text"],
        "You are Claude Code, Anthropic's official CLI for Claude."
    );

    // Quota: five-hour and weekly windows.
    assert_eq!(quota_windows(&router, &account_id).await.len(), 3);

    // An expired token is refreshed once and the request retried; the new set survives a
    // restart.
    claude.refuse_next_message();
    assert_eq!(router.ask("cc/claude-sonnet-4-5").await.0, 200);
    assert_eq!(claude.refreshes(), 1);
    let router = router.restart().await;
    assert_eq!(router.ask("cc/claude-sonnet-4-5").await.0, 200);
    assert_eq!(
        claude.last_message().map(|m| m.0).as_deref(),
        Some("Bearer claude-access-2")
    );
    assert_eq!(claude.refreshes(), 1);

    // Revoked: needs a new login; logging in again renews the same account.
    claude.revoke();
    claude.refuse_next_message();
    assert!(router.ask("cc/claude-sonnet-4-5").await.0 >= 400);
    assert_needs_login(&router, &account_id).await;
    let (id, challenge, state) =
        start_claude(&router, Some(json!({"accountId": account_id}))).await;
    let code = claude.approve(&challenge);
    let (status, again) = paste(&router, &id, format!("{code}#{state}")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["login"]["accountId"], account_id.as_str());
    assert_eq!(router.ask("cc/claude-sonnet-4-5").await.0, 200);
    assert_eq!(accounts_of(&router, "claude").await.len(), 1);
}

#[tokio::test]
async fn idle_logins_are_renewed_in_the_background() {
    let api = FakeOpenAi::start().await;
    let origin = api.base_url().trim_end_matches("/v1").to_owned();
    let qwen = FakeQwen::start(&origin).await;
    let config = format!(
        "{}\n[observability]\nquota_refresh_secs = 1\n",
        qwen.config()
    );
    let router = Router::start(&config).await;
    qwen.set_expires_in(3);
    let (_, done) = device_login(&router, "qw", None, QWEN_CODE).await;
    assert_eq!(done["status"], "done", "{done}");
    // No request is made; the upkeep renews the 3-second token before it runs out.
    let deadline = Instant::now() + Duration::from_secs(10);
    while qwen.refreshes() == 0 {
        assert!(Instant::now() < deadline, "the idle login was not renewed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(api.keys_seen().is_empty(), "no request was needed");
    // A refused renewal in the background sets the account aside too.
    qwen.revoke();
    let account_id = done["accountId"].as_str().expect("account").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, account) = connection(&router, &account_id).await;
        if account["state"] == "needs-login" {
            break;
        }
        assert!(Instant::now() < deadline, "still {account}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two ports nothing listens on.
fn free_ports() -> [u16; 2] {
    let a = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    [a, b].map(|l| l.local_addr().expect("addr").port())
}

async fn start_codex(router: &Router, body: Option<Value>) -> Value {
    let (status, started) = router.api(Method::POST, "/api/oauth/cx/start", body).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["kind"], "authorize");
    started
}

/// What the user's browser does: opens the approval page and follows its redirect.
async fn browse(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("the browser gets there");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn a_codex_login_caught_on_loopback_streams_tools_and_waits_out_its_usage_limit() {
    use crate::support::fake_chatgpt::{ACCOUNT, EMAIL as CODEX_EMAIL, FakeChatgpt};
    let chatgpt = FakeChatgpt::start().await;
    let ports = free_ports();
    let router = Router::start_with(
        &chatgpt.config(&ports),
        BackendChoice::File,
        "ninerouter-test",
    )
    .await;

    // The first port is taken: the login listens on the second, which the redirect names.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", ports[0])).expect("bind");
    let started = start_codex(&router, None).await;
    assert_eq!(started["listening"], true, "{started}");
    assert_eq!(
        started["redirectUri"],
        format!("http://localhost:{}/auth/callback", ports[1])
    );
    let url = started["authorizeUrl"].as_str().expect("url");
    assert_eq!(query_param(url, "code_challenge_method"), "S256");
    let (status, page) = browse(url).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(CODEX_EMAIL), "{page}");
    let id = started["loginId"].as_str().expect("id");
    let (_, done) = router
        .api(Method::GET, &format!("/api/oauth/cx/{id}"), None)
        .await;
    assert_eq!(done["login"]["status"], "done", "{done}");
    assert_eq!(done["login"]["name"], CODEX_EMAIL);
    let account_id = done["login"]["accountId"]
        .as_str()
        .expect("account")
        .to_owned();
    let (_, account) = connection(&router, &account_id).await;
    assert_eq!(
        account["plan"], "plus",
        "the plan the ID token names: {account}"
    );
    // The listener is gone with the login.
    assert!(std::net::TcpListener::bind(("127.0.0.1", ports[1])).is_ok());

    // A streamed Chat Completions request with a tool, through the Responses dialect.
    let r = router
        .chat(json!({
            "model": "cx/gpt-5-codex", "stream": true, "temperature": 0.3,
            "messages": [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
        }))
        .await;
    assert_eq!(r.status(), 200);
    let stream = r.text().await.unwrap_or_default();
    let chunks = crate::support::sse_data(&stream);
    let arguments: String = chunks
        .iter()
        .filter_map(|c| serde_json::from_str::<Value>(c).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(arguments, "{\"city\":\"Paris\"}", "{stream}");
    assert!(stream.contains("\"name\":\"get_weather\""), "{stream}");
    assert!(
        stream.contains("\"finish_reason\":\"tool_calls\""),
        "{stream}"
    );
    let (headers, sent) = chatgpt.last_request().expect("a request");
    assert_eq!(headers["authorization"], "Bearer codex-access-1");
    assert_eq!(headers["chatgpt-account-id"], ACCOUNT);
    assert_eq!(headers["originator"], "codex_cli_rs");
    assert_eq!(sent["store"], false);
    assert_eq!(sent["instructions"], "Use tools.");
    assert!(sent.get("temperature").is_none(), "{sent}");

    // A client that wants one answer gets the backend's stream gathered.
    let (status, _, body) = router.ask("cx/gpt-5-codex").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from Codex."
    );
    assert_eq!(body["usage"]["total_tokens"], 30);

    // Quota: the plan's five-hour and weekly windows.
    assert_eq!(quota_windows(&router, &account_id).await.len(), 2);

    // An expired token is refreshed once and the request retried.
    chatgpt.refuse_next_request();
    assert_eq!(router.ask("cx/gpt-5-codex").await.0, 200);
    assert_eq!(chatgpt.refreshes(), 1);

    // The plan's usage limit: the account rests until the reset the backend names.
    let reset_s = jiff::Timestamp::now().as_second() + 3600;
    chatgpt.limit_usage_until(reset_s);
    let (status, _, body) = router.ask("cx/gpt-5-codex").await;
    assert_eq!(status, 429, "{body}");
    let (_, account) = connection(&router, &account_id).await;
    let until = account["cooldowns"][0]["untilMs"]
        .as_i64()
        .unwrap_or_default();
    assert!((until - reset_s * 1000).abs() < 5_000, "{account}");
    let sent_before = chatgpt.requests();
    let (status, _, _) = router.ask("cx/gpt-5-codex").await;
    assert_eq!(status, 429);
    assert_eq!(
        chatgpt.requests(),
        sent_before,
        "nothing is sent until the reset"
    );
    reset(&router, &account_id).await;

    // Both ports taken: the notice names who holds them, and the pasted address still works.
    let squatter2 = std::net::TcpListener::bind(("127.0.0.1", ports[1])).expect("bind");
    let started = start_codex(&router, Some(json!({"accountId": account_id}))).await;
    assert_eq!(started["listening"], false, "{started}");
    let notice = started["notice"].as_str().unwrap_or_default();
    assert!(
        notice.contains(&format!("pid {}", std::process::id())),
        "{notice}"
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let landed = no_redirects
        .get(started["authorizeUrl"].as_str().expect("url"))
        .send()
        .await
        .expect("approval")
        .headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let id = started["loginId"].as_str().expect("id");
    let (status, again) = router
        .api(
            Method::POST,
            &format!("/api/oauth/cx/{id}/complete"),
            Some(json!({"code": landed})),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["login"]["accountId"], account_id.as_str());
    drop((squatter, squatter2));

    // Denied at the provider: the browser and the login both say so; nothing is added.
    chatgpt.deny_next_login();
    let started = start_codex(&router, None).await;
    let (status, page) = browse(started["authorizeUrl"].as_str().expect("url")).await;
    assert_eq!(status, 400);
    assert!(page.contains("denied"), "{page}");
    let id = started["loginId"].as_str().expect("id");
    let (_, failed) = router
        .api(Method::GET, &format!("/api/oauth/cx/{id}"), None)
        .await;
    assert_eq!(failed["login"]["status"], "failed", "{failed}");
    assert_eq!(accounts_of(&router, "codex").await.len(), 1);

    // Revoked at OpenAI: the account needs a new login.
    chatgpt.revoke();
    chatgpt.refuse_next_request();
    assert!(router.ask("cx/gpt-5-codex").await.0 >= 400);
    assert_needs_login(&router, &account_id).await;
}

#[tokio::test]
async fn a_gemini_cli_login_onboards_a_project_and_streams_tools_in_the_cloud_code_envelope() {
    use crate::support::fake_google::{EMAIL as GOOGLE_EMAIL, FakeGoogle, PROJECT};
    let google = FakeGoogle::start().await;
    let router = Router::start_with(
        &format!(
            "{}{}",
            crate::support::FAST_ROUTING,
            google.config("gemini-cli")
        ),
        BackendChoice::File,
        "ninerouter-test",
    )
    .await;

    // Any free port on the loopback IP literal, as Google requires; the browser comes back.
    let started = router
        .api(Method::POST, "/api/oauth/gc/start", None)
        .await
        .1;
    assert_eq!(started["listening"], true, "{started}");
    let redirect = started["redirectUri"].as_str().unwrap_or_default();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/oauth2callback"),
        "{redirect}"
    );
    let (status, page) = browse(started["authorizeUrl"].as_str().expect("url")).await;
    assert_eq!(status, 200, "{page}");
    let id = started["loginId"].as_str().expect("id");
    let (_, done) = router
        .api(Method::GET, &format!("/api/oauth/gc/{id}"), None)
        .await;
    assert_eq!(done["login"]["status"], "done", "{done}");
    assert_eq!(done["login"]["name"], GOOGLE_EMAIL);
    let account_id = done["login"]["accountId"]
        .as_str()
        .expect("account")
        .to_owned();
    assert_eq!(
        google.onboard_calls(),
        1,
        "a new user is onboarded onto the free tier"
    );

    // A streamed request with a tool goes out in the envelope, with the onboarded project.
    let r = router
        .chat(json!({
            "model": "gc/gemini-2.5-pro", "stream": true,
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
        }))
        .await;
    assert_eq!(r.status(), 200);
    let stream = r.text().await.unwrap_or_default();
    assert!(stream.contains("Checking."), "{stream}");
    assert!(stream.contains("get_weather"), "{stream}");
    assert!(stream.contains(r#"{\"city\":\"Paris\"}"#), "{stream}");
    assert!(
        stream.contains("\"finish_reason\":\"tool_calls\""),
        "{stream}"
    );
    let sent = google.last_request().expect("a request");
    assert_eq!(sent["project"], PROJECT);
    assert_eq!(sent["model"], "gemini-2.5-pro");
    assert!(sent["request"]["tools"].is_array(), "{sent}");

    // One answer, unwrapped from the envelope, with its usage.
    let (status, _, body) = router.ask("gc/gemini-2.5-pro").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from Gemini."
    );
    assert_eq!(body["usage"]["total_tokens"], 20);

    // An expired access token is refreshed once (Google sends no new refresh token).
    google.refuse_next_request();
    assert_eq!(router.ask("gc/gemini-2.5-pro").await.0, 200);
    assert_eq!(google.refreshes(), 1);

    // RESOURCE_EXHAUSTED with RetryInfo: the account waits exactly that long.
    google.exhaust_next_request("45s");
    let before = jiff::Timestamp::now().as_millisecond();
    assert_eq!(router.ask("gc/gemini-2.5-pro").await.0, 429);
    let (_, account) = connection(&router, &account_id).await;
    let until = account["cooldowns"][0]["untilMs"]
        .as_i64()
        .unwrap_or_default();
    assert!((until - before - 45_000).abs() < 5_000, "{account}");
    reset(&router, &account_id).await;

    // Revoked: the account needs a new login, which finds the project without onboarding.
    google.revoke();
    google.refuse_next_request();
    assert!(router.ask("gc/gemini-2.5-pro").await.0 >= 400);
    assert_needs_login(&router, &account_id).await;
    let again = router
        .api(
            Method::POST,
            "/api/oauth/gc/start",
            Some(json!({"accountId": account_id})),
        )
        .await
        .1;
    let (status, page) = browse(again["authorizeUrl"].as_str().expect("url")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(google.onboard_calls(), 1);
    assert_eq!(router.ask("gc/gemini-2.5-pro").await.0, 200);
    assert_eq!(accounts_of(&router, "gemini-cli").await.len(), 1);
}

#[tokio::test]
async fn an_antigravity_login_sends_agent_requests_and_skips_a_model_whose_quota_is_used_up() {
    use crate::support::fake_google::{EMAIL as GOOGLE_EMAIL, FakeGoogle, PROJECT};
    let google = FakeGoogle::start().await;
    google.onboarded();
    let router = Router::start_with(
        &format!(
            "{}{}",
            crate::support::FAST_ROUTING,
            google.config("antigravity")
        ),
        BackendChoice::File,
        "ninerouter-test",
    )
    .await;
    let started = router
        .api(Method::POST, "/api/oauth/ag/start", None)
        .await
        .1;
    assert_eq!(started["listening"], true, "{started}");
    let url = started["authorizeUrl"].as_str().expect("url");
    assert!(query_param(url, "scope").contains("cclog"), "{url}");
    let (status, page) = browse(url).await;
    assert_eq!(status, 200, "{page}");
    let id = started["loginId"].as_str().expect("id");
    let (_, done) = router
        .api(Method::GET, &format!("/api/oauth/ag/{id}"), None)
        .await;
    assert_eq!(done["login"]["name"], GOOGLE_EMAIL, "{done}");
    let account_id = done["login"]["accountId"]
        .as_str()
        .expect("account")
        .to_owned();
    assert_eq!(google.onboard_calls(), 0, "the project was already there");

    // Agent requests in the envelope, introduced as Antigravity.
    let (status, _, stream) = router.ask_streaming("ag/gemini-3-pro-high").await;
    assert_eq!(status, 200, "{stream}");
    assert!(stream.contains("from Gemini."), "{stream}");
    let sent = google.last_request().expect("a request");
    assert_eq!(sent["project"], PROJECT);
    assert_eq!(sent["requestType"], "agent");
    assert_eq!(sent["userAgent"], "antigravity");
    assert!(
        sent["requestId"]
            .as_str()
            .unwrap_or_default()
            .starts_with("agent-"),
        "{sent}"
    );
    assert!(
        google
            .last_user_agent()
            .unwrap_or_default()
            .starts_with("antigravity/")
    );

    // Per-model quota: Claude's is used up until next week, Gemini's is not.
    assert_eq!(quota_windows(&router, &account_id).await.len(), 2);
    let sent_before = google.requests();
    let (status, _, body) = router.ask("ag/claude-sonnet-4-5").await;
    assert_eq!(status, 429, "{body}");
    assert!(body.to_string().contains("quota used up"), "{body}");
    assert_eq!(
        google.requests(),
        sent_before,
        "nothing is sent for a used-up model"
    );
    assert_eq!(router.ask("ag/gemini-3-pro-high").await.0, 200);

    // Tools through the agent envelope, streamed.
    let r = router
        .chat(json!({
            "model": "ag/gemini-3-pro-high", "stream": true,
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
        }))
        .await;
    let stream = r.text().await.unwrap_or_default();
    assert!(
        stream.contains("get_weather") && stream.contains("Paris"),
        "{stream}"
    );

    // Refreshed with Antigravity's client after a 401; revoked means a new login.
    google.refuse_next_request();
    assert_eq!(router.ask("ag/gemini-3-pro-high").await.0, 200);
    assert_eq!(google.refreshes(), 1);
    google.revoke();
    google.refuse_next_request();
    assert!(router.ask("ag/gemini-3-pro-high").await.0 >= 400);
    assert_needs_login(&router, &account_id).await;
}

#[tokio::test]
async fn an_iflow_login_yields_an_api_key_whose_requests_are_signed() {
    use crate::support::fake_iflow::{FakeIflow, PHONE};
    let iflow = FakeIflow::start().await;
    let router = Router::start_with(&iflow.config(), BackendChoice::File, "ninerouter-test").await;
    let started = router
        .api(Method::POST, "/api/oauth/if/start", None)
        .await
        .1;
    assert_eq!(started["listening"], true, "{started}");
    let (status, page) = browse(started["authorizeUrl"].as_str().expect("url")).await;
    assert_eq!(status, 200, "{page}");
    let id = started["loginId"].as_str().expect("id");
    let (_, done) = router
        .api(Method::GET, &format!("/api/oauth/if/{id}"), None)
        .await;
    assert_eq!(done["login"]["name"], PHONE, "{done}");

    let r = router
        .chat(json!({
            "model": "if/qwen3-coder-plus", "stream": true,
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
        }))
        .await;
    assert_eq!(r.status(), 200);
    let stream = r.text().await.unwrap_or_default();
    assert!(
        stream.contains("get_weather") && stream.contains("Paris"),
        "{stream}"
    );
    let (signed, sent) = iflow.last_request().expect("a request");
    assert!(signed, "the request carries iFlow CLI's signature");
    assert_eq!(sent["model"], "qwen3-coder-plus");

    // A refused key: the login is refreshed (and the key read again) once, then retried.
    iflow.refuse_next_request();
    let (status, _, _) = router.ask_streaming("if/qwen3-coder-plus").await;
    assert_eq!(status, 200);
    assert_eq!(iflow.refreshes(), 1);
    assert!(iflow.last_request().is_some_and(|r| r.0));

    // Revoked: the account needs a new login.
    iflow.revoke();
    iflow.refuse_next_request();
    assert!(router.ask_streaming("if/qwen3-coder-plus").await.0 >= 400);
    let account_id = done["login"]["accountId"].as_str().expect("account");
    assert_needs_login(&router, account_id).await;
}

#[tokio::test]
async fn a_codex_cli_login_is_imported_after_a_preview() {
    use crate::support::fake_chatgpt::{ACCOUNT, EMAIL as CODEX_EMAIL, FakeChatgpt};
    let chatgpt = FakeChatgpt::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("auth.json");
    let config = format!(
        "{}import_file = \"{}\"\n",
        chatgpt.config(&free_ports()),
        file.display()
    );
    let router = Router::start_with(&config, BackendChoice::File, "ninerouter-test").await;

    // No file yet: the preview says where it looked.
    let (status, body) = router.api(Method::GET, "/api/oauth/cx/import", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("auth.json"), "{body}");

    // Codex CLI's file, as `codex login` writes it (the access token has run out).
    let id_token = crate::support::fake_chatgpt::id_token(CODEX_EMAIL, ACCOUNT, "plus");
    std::fs::write(
        &file,
        json!({"OPENAI_API_KEY": null, "tokens": {"id_token": id_token, "access_token": "codex-access-0",
               "refresh_token": "codex-refresh-0", "account_id": ACCOUNT}, "last_refresh": "2026-11-01T00:00:00Z"})
        .to_string(),
    )
    .expect("write");
    let (status, preview) = router.api(Method::GET, "/api/oauth/cx/import", None).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["found"]["account"], CODEX_EMAIL);
    assert_eq!(preview["found"]["plan"], "plus");
    assert!(
        !preview.to_string().contains("codex-refresh"),
        "no secrets in the preview"
    );
    assert!(
        accounts_of(&router, "codex").await.is_empty(),
        "a preview stores nothing"
    );

    let (status, done) = router.api(Method::POST, "/api/oauth/cx/import", None).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["login"]["name"], CODEX_EMAIL);
    let (status, _, body) = router.ask("cx/gpt-5-codex").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        chatgpt.refreshes(),
        1,
        "the expired token was renewed first"
    );

    // Providers without a CLI file to import say so.
    let (status, body) = router.api(Method::GET, "/api/oauth/gh/import", None).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_kiro_builder_id_login_streams_tools_out_of_event_stream_frames() {
    use crate::support::fake_kiro::{FakeKiro, USER_CODE as KIRO_CODE};
    let kiro = FakeKiro::start().await;
    let router = Router::start_with(&kiro.config(), BackendChoice::File, "ninerouter-test").await;
    kiro.approve();
    let (uri, done) = device_login(&router, "kr", None, KIRO_CODE).await;
    assert!(uri.contains("user_code="), "{uri}");
    assert_eq!(done["status"], "done", "{done}");
    let account_id = done["accountId"].as_str().expect("account").to_owned();
    assert_eq!(kiro.start_urls(), ["https://view.awsapps.com/start"]);

    // IAM Identity Center: the organization's start URL; a region that is not one is refused.
    let (status, body) = router
        .api(
            Method::POST,
            "/api/oauth/kr/start",
            Some(json!({"startUrl": "https://acme.awsapps.com/start", "region": "moon"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "startUrl");
    let (status, org) = router
        .api(
            Method::POST,
            "/api/oauth/kr/start",
            Some(json!({"startUrl": "https://acme.awsapps.com/start", "region": "eu-west-1"})),
        )
        .await;
    assert_eq!(status, 202, "{org}");
    assert_eq!(kiro.start_urls()[1], "https://acme.awsapps.com/start");
    let org_login = org["loginId"].as_str().expect("id");
    router
        .api(Method::DELETE, &format!("/api/oauth/kr/{org_login}"), None)
        .await;
    let (status, _) = router
        .api(
            Method::POST,
            "/api/oauth/gh/start",
            Some(json!({"startUrl": "https://x/start"})),
        )
        .await;
    assert_eq!(status, 400, "only Kiro takes a start URL");

    // Claude Code's kind of request: tools, streamed; the frames become the client's events.
    let r = router
        .chat(json!({
            "model": "kr/claude-sonnet-4.5", "stream": true,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
        }))
        .await;
    assert_eq!(r.status(), 200);
    let stream = r.text().await.unwrap_or_default();
    let chunks: Vec<Value> = crate::support::sse_data(&stream)
        .iter()
        .filter_map(|c| serde_json::from_str(c).ok())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "Let me check.", "{stream}");
    let arguments: String = chunks
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(arguments, "{\"city\":\"Paris\"}", "{stream}");
    assert!(
        stream.contains("\"finish_reason\":\"tool_calls\""),
        "{stream}"
    );
    let sent = kiro.last_request().expect("a request");
    let current = &sent["conversationState"]["currentMessage"]["userInputMessage"];
    assert_eq!(current["content"], "Be brief.\n\nWeather in Paris?");
    assert_eq!(current["modelId"], "claude-sonnet-4.5");
    assert_eq!(
        current["userInputMessageContext"]["tools"][0]["toolSpecification"]["name"],
        "get_weather"
    );

    // One answer gathered from the frames.
    let (status, _, body) = router.ask("kr/claude-sonnet-4.5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"], "Let me check.",
        "{body}"
    );

    // A refused token: refreshed through AWS SSO OIDC with the registered client, retried.
    kiro.refuse_next_request();
    assert_eq!(router.ask("kr/claude-sonnet-4.5").await.0, 200);
    assert_eq!(kiro.refreshes(), 1);

    // A throttling exception frame before anything reached the client is a rate limit: the
    // attempt fails over (here to nothing) and the client hears a 429 naming it.
    kiro.throttle_next_request();
    let (status, _, stream) = router.ask_streaming("kr/claude-sonnet-4.5").await;
    assert_eq!(status, 429, "{stream}");
    assert!(stream.contains("ThrottlingException"), "{stream}");

    // Quota: monthly credits and the free trial.
    assert_eq!(quota_windows(&router, &account_id).await.len(), 2);

    // Revoked at AWS: the account needs a new login instead of retrying forever.
    reset(&router, &account_id).await;
    kiro.revoke();
    kiro.refuse_next_request();
    assert!(router.ask("kr/claude-sonnet-4.5").await.0 >= 400);
    assert_needs_login(&router, &account_id).await;
}

#[tokio::test]
async fn copilot_codex_models_go_through_its_responses_endpoint() {
    use crate::support::fake_upstream::{FakeUpstream, Script};
    let upstream = FakeUpstream::start(Script {
        thinking: None,
        tool: Some(("get_weather".into(), "{\"city\":\"Paris\"}".into())),
        ..Script::default()
    })
    .await;
    let github = FakeGithub::start(&upstream.openai_base()).await;
    let router = Router::start(&github.config()).await;
    let (_, done) = login(&router, None).await;
    assert_eq!(done["status"], "done", "{done}");

    let r = router
        .chat(json!({
            "model": "gh/gpt-5-codex", "stream": true,
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
        }))
        .await;
    assert_eq!(r.status(), 200);
    let stream = r.text().await.unwrap_or_default();
    assert!(stream.contains("get_weather"), "{stream}");
    let seen = upstream.last();
    assert_eq!(seen.path, "/v1/responses");
    assert_eq!(seen.body["model"], "gpt-5-codex");
    assert!(
        seen.headers.contains_key("editor-version"),
        "Copilot's editor headers: {:?}",
        seen.headers
    );
    assert_eq!(router.ask("gh/gpt-4o").await.0, 200);
    assert_eq!(upstream.last().path, "/v1/chat/completions");
}

#[tokio::test]
async fn claude_codes_own_request_streams_tools_through_a_subscription_login() {
    use crate::support::fake_upstream::{FakeUpstream, Script};
    let claude = FakeClaude::start().await;
    let upstream = FakeUpstream::start(Script {
        tool: Some(("Read".into(), "{\"file_path\":\"README.md\"}".into())),
        ..Script::default()
    })
    .await;
    // Logins at the fake claude.ai; the Messages API is the fake upstream.
    let config = format!(
        "[auth.claude]\nlogin_url = \"{}\"\napi_url = \"{}\"\n",
        claude.base,
        upstream.root()
    );
    let router = Router::start_with(&config, BackendChoice::File, "ninerouter-test").await;
    let (id, challenge, state) = start_claude(&router, None).await;
    let code = claude.approve(&challenge);
    assert_eq!(paste(&router, &id, format!("{code}#{state}")).await.0, 200);

    // Claude Code's captured second turn (tools, a tool result, streaming), replayed.
    let capture = crate::support::posts("claude-code.jsonl")
        .pop()
        .expect("a capture");
    assert_eq!(capture["body"]["stream"], true);
    let r = crate::support::replay(&router, &capture, "cc/claude-sonnet-4-5").await;
    assert_eq!(r.status(), 200);
    let stream = r.text().await.unwrap_or_default();
    assert!(stream.contains("event: content_block_start"), "{stream}");
    assert!(stream.contains("\"name\":\"Read\""), "{stream}");
    assert!(stream.contains("\"stop_reason\":\"tool_use\""), "{stream}");
    let seen = upstream.last();
    assert_eq!(seen.path, "/v1/messages");
    let header = |k: &str| {
        seen.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("authorization"), "Bearer claude-access-1");
    // One list: Claude Code's own betas and the subscription token's.
    assert_eq!(seen.headers.get_all("anthropic-beta").iter().count(), 1);
    let betas = header("anthropic-beta");
    assert!(
        betas.contains("claude-code-20250219") && betas.ends_with(",oauth-2025-04-20"),
        "{betas}"
    );
    assert!(!seen.headers.contains_key("x-api-key"));
    assert_eq!(
        seen.body["system"][0]["text"],
        "You are Claude Code, Anthropic's official CLI for Claude."
    );
    assert!(seen.body["tools"].as_array().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn a_kiro_social_login_names_its_profile_on_every_request_and_renews_at_kiros_service() {
    use crate::support::fake_kiro::{FakeKiro, PROFILE_ARN};
    let kiro = FakeKiro::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let ide_file = dir.path().join("kiro-auth-token.json");
    let config = format!(
        "{}import_file = \"{}\"\n",
        kiro.config(),
        ide_file.display()
    );
    let router = Router::start_with(&config, BackendChoice::File, "ninerouter-test").await;

    let (_, providers) = router.api(Method::GET, "/api/providers", None).await;
    let row = providers["providers"]
        .as_array()
        .and_then(|rows| rows.iter().find(|p| p["id"] == "kiro"))
        .cloned()
        .expect("kiro");
    let methods: Vec<&str> = row["loginMethods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(methods, ["builder-id", "google", "github"]);
    let (status, body) = router
        .api(
            Method::POST,
            "/api/oauth/kr/start",
            Some(json!({"method": "facebook"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "method");

    // Google: the browser goes to Kiro's service and comes back to the router's listener.
    let (status, started) = router
        .api(
            Method::POST,
            "/api/oauth/kr/start",
            Some(json!({"method": "google"})),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["kind"], "authorize");
    assert_eq!(started["listening"], true, "{started}");
    assert_eq!(started["webview"], false, "Google refuses embedded windows");
    let url = started["authorizeUrl"].as_str().expect("url");
    assert!(url.starts_with(&format!("{}/login?", kiro.base)), "{url}");
    assert_eq!(query_param(url, "idp"), "Google");
    assert_eq!(query_param(url, "code_challenge_method"), "S256");
    let (status, page) = browse(url).await;
    assert_eq!(status, 200, "{page}");
    let id = started["loginId"].as_str().expect("id");
    let (_, done) = router
        .api(Method::GET, &format!("/api/oauth/kr/{id}"), None)
        .await;
    assert_eq!(done["login"]["status"], "done", "{done}");
    let account_id = done["login"]["accountId"]
        .as_str()
        .expect("account")
        .to_owned();
    assert_eq!(kiro.idps(), ["Google"]);

    // Every request names the profile; the quota call does too.
    let (status, _, body) = router.ask("kr/claude-sonnet-4.5").await;
    assert_eq!(status, 200, "{body}");
    let sent = kiro.last_request().expect("a request");
    assert_eq!(sent["profileArn"], PROFILE_ARN, "{sent}");
    assert!(sent["conversationState"].is_object());
    let windows = quota_windows(&router, &account_id).await;
    assert!(!windows.is_empty());
    let query = kiro.usage_queries().last().cloned().unwrap_or_default();
    assert!(
        query.contains("profileArn=arn%3Aaws%3Acodewhisperer"),
        "{query}"
    );

    // A refused token is renewed at Kiro's service, with the refresh token alone.
    kiro.refuse_next_request();
    let (status, _, body) = router.ask("kr/claude-sonnet-4.5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kiro.refreshes(), 1);
    assert_eq!(
        kiro.last_request().expect("request")["profileArn"],
        PROFILE_ARN
    );

    // Revoked: the account waits for a new login.
    kiro.revoke();
    kiro.refuse_next_request();
    assert!(router.ask("kr/claude-sonnet-4.5").await.0 >= 400);
    assert_needs_login(&router, &account_id).await;

    // The Kiro IDE's own social login imports as it is.
    std::fs::write(
        &ide_file,
        json!({"accessToken": "aoa-ide", "refreshToken": "aor-ide", "profileArn": PROFILE_ARN,
               "expiresAt": "2026-12-31T00:00:00.000Z", "authMethod": "social", "provider": "Github"})
        .to_string(),
    )
    .expect("write");
    let (status, preview) = router.api(Method::GET, "/api/oauth/kr/import", None).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["found"]["expiresAtMs"], 1_798_675_200_000_i64);
    assert!(!preview.to_string().contains("aor-ide"));
}
