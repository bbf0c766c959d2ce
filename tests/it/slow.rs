//! Slow clients at the connection level: one that dribbles its request headers is cut
//! off after `--header-timeout`, while everyone else is served; and a graceful stop
//! lets a request that is still arriving finish.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// Reads what the server sent so far: `Some(bytes)` when the connection is still open
/// (possibly with nothing yet), `None` once it was closed or reset.
fn poll_read(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = [0u8; 4096];
    match conn.read(&mut buf) {
        Ok(0) => None,
        Ok(n) => Some(buf[..n].to_vec()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Some(Vec::new())
        }
        Err(_) => None,
    }
}

#[test]
fn a_client_that_dribbles_its_headers_is_cut_off() {
    let srv = Server::start_args(&["--rate-limit", "off", "--header-timeout", "1s"]);
    let addr = srv.base.strip_prefix("http://").unwrap().to_string();
    let request = format!(
        "GET /n/v1/clientcontext HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
        srv.root()
    );

    // Sent at once, the same request is answered.
    let mut quick = TcpStream::connect(&addr).unwrap();
    quick
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    quick.write_all(request.as_bytes()).unwrap();
    let answer = poll_read(&mut quick).expect("an answer");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // One byte every 200 ms would take over 20 s; the server hangs up after about 1 s.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let start = Instant::now();
    let mut cut = None;
    for (i, byte) in request.bytes().enumerate() {
        let open = slow.write_all(&[byte]).is_ok()
            && match poll_read(&mut slow) {
                None => false,
                Some(got) => {
                    assert!(
                        got.is_empty(),
                        "an answer to headers never finished: {}",
                        String::from_utf8_lossy(&got)
                    );
                    true
                }
            };
        if !open {
            cut = Some(start.elapsed());
            break;
        }
        if i == 2 {
            // Meanwhile, everyone else is served.
            let (s, _, b) = srv.get("/n/v1/clientcontext");
            assert_eq!(s, StatusCode::OK, "{b}");
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let cut = cut.expect("the slow client was never cut off");
    assert!(
        cut >= Duration::from_millis(900) && cut < Duration::from_secs(5),
        "cut off after {cut:?}, not about 1 s"
    );

    // And afterwards.
    let (s, _, b) = srv.get("/n/v1/clientcontext");
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[test]
fn the_header_timeout_must_be_a_positive_duration() {
    for bad in ["0s", "soon", "-1s"] {
        let out = baack()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg(format!("--header-timeout={bad}"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "--header-timeout {bad} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--header-timeout"), "{err}");
    }
}

#[test]
fn sigterm_lets_a_request_still_arriving_finish() {
    let mut srv = Server::start();
    let owner = srv.owner();
    let addr = srv.base.strip_prefix("http://").unwrap().to_string();
    let body = serde_json::to_vec(
        &json!({"owner": {"urn": owner}, "scope": "api.baack.co", "clientID": "late"}),
    )
    .unwrap();
    let head = format!(
        "POST /n/v1/apiclient/ HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        srv.root(),
        body.len()
    );
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..10]).unwrap();
    // Give the server the head, so the request is in flight when the signal comes.
    std::thread::sleep(Duration::from_millis(300));

    let status = std::thread::scope(|s| {
        let stopping = s.spawn(|| srv.stop());
        // The server stops listening at once...
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&addr).is_ok() {
            assert!(Instant::now() < deadline, "still accepting after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        // ...but the request in flight is still heard and answered.
        conn.write_all(&body[10..]).unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 201"), "{text}");
        assert!(text.contains("\"clientID\":\"late\""), "{text}");
        stopping.join().unwrap()
    });
    assert!(status.success(), "{status}");
    assert!(
        srv.log()
            .iter()
            .any(|l| request_event(l).is_some_and(|e| e.method == "POST"
                && e.path == "/n/v1/apiclient/"
                && e.status == 201)),
        "{:?}",
        srv.log()
    );
    assert_eq!(srv.log().last().map(String::as_str), Some("stopped"));
}
