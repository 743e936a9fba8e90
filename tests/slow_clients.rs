//! Slow clients: a body that trickles in is cut off at the body deadline (10 s by default)
//! with a REQUEST_TIMEOUT fault and its connection closed, and many such clients at once do
//! not keep an honest one from being served.

#[macro_use]
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{org_a, Answer, Backend, Request, TestApp, NISS_1};

/// The server's default body deadline.
const BODY_DEADLINE: Duration = Duration::from_secs(10);
/// What the cut-off may take beyond it (a loaded machine, a debug build).
const MARGIN: Duration = Duration::from_secs(3);

/// A client that has sent a request's head and sends its body one byte at a time.
struct Trickle {
    stream: TcpStream,
    body: Vec<u8>,
    sent: usize,
    answer: Vec<u8>,
    /// When the head was sent, and when the server closed the connection.
    started: Instant,
    closed: Option<Instant>,
}

impl Trickle {
    fn open(app: &TestApp) -> Trickle {
        let body = Request::consult(&org_a(), NISS_1).to_xml().into_bytes();
        Trickle::open_to(
            app,
            "/soap/PersonRegisterService",
            "text/xml; charset=utf-8\r\nSOAPAction: \"\"",
            body,
        )
    }

    /// A request to `path` whose body (of `content_type`) will trickle.
    fn open_to(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> Trickle {
        let address = app.base_url().trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(&address).expect("a connection");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("the head is sent");
        stream.set_nonblocking(true).expect("a non-blocking socket");
        Trickle {
            stream,
            body,
            sent: 0,
            answer: Vec::new(),
            started: Instant::now(),
            closed: None,
        }
    }

    /// Sends the next byte of the body (if the server still listens) and reads what came.
    fn tick(&mut self) {
        if self.closed.is_some() {
            return;
        }
        if self.sent < self.body.len() - 1 {
            if let Ok(n) = self.stream.write(&self.body[self.sent..=self.sent]) {
                self.sent += n;
            }
        }
        let mut buffer = [0u8; 4096];
        loop {
            match self.stream.read(&mut buffer) {
                Ok(0) => {
                    self.closed = Some(Instant::now());
                    return;
                }
                Ok(n) => self.answer.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // A reset after the answer: closed too.
                Err(_) => {
                    self.closed = Some(Instant::now());
                    return;
                }
            }
        }
    }

    /// The HTTP answer received, its head and its body.
    fn answer(&self) -> (String, Answer) {
        let text = String::from_utf8_lossy(&self.answer).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {head:?}"));
        let content_type = header(head, "content-type").unwrap_or_default();
        (
            head.to_owned(),
            Answer::new(status, content_type, body.to_owned()),
        )
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// Ticks every client once a second until all are closed or `limit` has passed; calls
/// `meanwhile` after each round.
fn trickle_all(clients: &mut [Trickle], limit: Duration, mut meanwhile: impl FnMut()) {
    let start = Instant::now();
    while clients.iter().any(|c| c.closed.is_none()) && start.elapsed() < limit {
        for client in clients.iter_mut() {
            client.tick();
        }
        meanwhile();
        std::thread::sleep(Duration::from_millis(1000));
    }
}

/// Asserts that the client was answered REQUEST_TIMEOUT between the deadline and the margin,
/// and that the server then closed the connection.
#[track_caller]
fn assert_cut_off(client: &Trickle) {
    let closed = client
        .closed
        .unwrap_or_else(|| panic!("still open after {:?}", client.started.elapsed()));
    let took = closed - client.started;
    assert!(
        took >= BODY_DEADLINE - Duration::from_millis(500) && took <= BODY_DEADLINE + MARGIN,
        "cut off after {took:?}"
    );
    assert!(client.sent < client.body.len(), "the whole body was sent");
    let (head, answer) = client.answer();
    assert_eq!(
        header(&head, "connection").as_deref(),
        Some("close"),
        "{head}"
    );
    let answer = answer.fault("REQUEST_TIMEOUT");
    assert_eq!(answer.faultcode().as_deref(), Some("soapenv:Client"));
    assert_eq!(
        answer.text(&["Fault", "faultstring"]).as_deref(),
        Some("the request body did not arrive within 10 s")
    );
}

fn timeout_outcomes(app: &TestApp) -> usize {
    app.audit(None)
        .iter()
        .filter(|entry| entry["outcome"] == "REQUEST_TIMEOUT")
        .count()
}

fn a_body_sent_at_one_byte_a_second_is_cut_off(backend: Backend) {
    let app = TestApp::start(backend);
    let mut clients = vec![Trickle::open(&app)];
    trickle_all(&mut clients, BODY_DEADLINE + MARGIN + MARGIN, || {});
    assert_cut_off(&clients[0]);
    assert_eq!(timeout_outcomes(&app), 1);
    assert_eq!(app.audit(None).len(), 1, "only the refusal is recorded");
}

fn many_slow_bodies_do_not_keep_an_honest_client_waiting(backend: Backend) {
    let app = TestApp::start(backend);
    // Logged in once, as an honest client would be.
    app.call(&Request::consult(&org_a(), NISS_1)).ok();
    let mut clients: Vec<Trickle> = (0..200).map(|_| Trickle::open(&app)).collect();
    let mut honest = Vec::new();
    trickle_all(&mut clients, BODY_DEADLINE + MARGIN + MARGIN, || {
        let start = Instant::now();
        let answer = app.call(&Request::consult(&org_a(), NISS_1));
        honest.push(start.elapsed());
        answer.ok();
    });
    for client in &clients {
        assert_cut_off(client);
    }
    assert!(honest.len() >= 8, "{honest:?}");
    let slowest = honest.iter().max().expect("honest calls");
    assert!(
        *slowest < Duration::from_millis(1000),
        "honest calls took {honest:?}"
    );
    assert_eq!(timeout_outcomes(&app), 200);
}

/// The token endpoint reads its form under the same deadline: a trickling token request is
/// answered 408 `invalid_request`, its connection closed, and the refusal audited.
fn a_token_request_sent_at_one_byte_a_second_is_cut_off(backend: Backend) {
    let app = TestApp::start(backend);
    let form = format!(
        "grant_type=client_credentials&client_id=client-{}",
        "x".repeat(40)
    );
    let mut clients = vec![Trickle::open_to(
        &app,
        "/oauth/token",
        "application/x-www-form-urlencoded",
        form.into_bytes(),
    )];
    trickle_all(&mut clients, BODY_DEADLINE + MARGIN + MARGIN, || {});
    let client = &clients[0];
    let closed = client.closed.expect("the connection is closed");
    let took = closed - client.started;
    assert!(
        took >= BODY_DEADLINE - Duration::from_millis(500) && took <= BODY_DEADLINE + MARGIN,
        "cut off after {took:?}"
    );
    let text = String::from_utf8_lossy(&client.answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an answer");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert_eq!(
        header(head, "connection").as_deref(),
        Some("close"),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(
        body["error_description"],
        "the request body did not arrive within 10 s"
    );
    let trail = app.audit(None);
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["service"], "OAuth");
    assert_eq!(trail[0]["outcome"], "REQUEST_TIMEOUT");
}

backend_tests!(
    a_body_sent_at_one_byte_a_second_is_cut_off,
    many_slow_bodies_do_not_keep_an_honest_client_waiting,
    a_token_request_sent_at_one_byte_a_second_is_cut_off,
);
