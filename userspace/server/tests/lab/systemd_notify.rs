//! tandemd speaks systemd's readiness protocol (issue 5, `Type=notify`): started the way
//! systemd starts a notify service (`NOTIFY_SOCKET`, `WATCHDOG_USEC`), it sends READY=1 with a
//! STATUS line once it serves, WATCHDOG=1 at half the watchdog period while its threads make
//! progress, and STOPPING=1 when told to stop. The socket here is the test's own.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use tandem_lab::{Direct, Subject};

use crate::common::{tandemd, TestDir};

/// Every datagram that arrives within `within`, as text.
pub(crate) fn messages(sock: &UnixDatagram, within: Duration) -> Vec<String> {
    let end = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => out.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => break,
        }
    }
    out
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn ready_watchdog_and_stopping_reach_the_notify_socket() {
    tandem_lab::preflight().expect("lab preflight");
    let dir = TestDir::new("sd-notify");
    let lab = Direct::new().unwrap();
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let notify = format!("NOTIFY_SOCKET={}", path.display());
    // WatchdogSec=2s: a ping every second. systemd names the process the watchdog is for
    // (WATCHDOG_PID); `env` and `sh` exec, so the shell's pid is tandemd's.
    let wrapper = [
        "env",
        notify.as_str(),
        "WATCHDOG_USEC=2000000",
        "sh",
        "-c",
        "export WATCHDOG_PID=$$; exec \"$0\" \"$@\"",
    ];
    let mut server = Subject::start_wrapped(
        &lab.server,
        &lab.server_params(),
        dir.path(),
        tandemd(),
        &wrapper,
        |_| Ok(()),
    )
    .unwrap();

    let got = messages(&sock, Duration::from_millis(3500));
    println!("{got:?}");
    let ready = got
        .iter()
        .find(|m| m.lines().any(|l| l == "READY=1"))
        .expect("READY=1");
    assert!(
        ready.lines().any(|l| l.starts_with("STATUS=serving on ")),
        "{ready}"
    );
    let pings = got
        .iter()
        .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
        .count();
    assert!(
        (2..=5).contains(&pings),
        "{pings} pings in 3.5 s at a 1 s period"
    );

    server.stop().unwrap();
    let got = messages(&sock, Duration::from_millis(500));
    assert!(
        got.iter().any(|m| m.lines().any(|l| l == "STOPPING=1")),
        "{got:?}"
    );
}
