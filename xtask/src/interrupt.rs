//! Ctrl-C during the demo or the comparison: clean up instead of dying on the spot.
//!
//! The terminal sends SIGINT to the whole foreground process group, so the clients and servers
//! the lab started stop at once; xtask itself only records the interrupt, the step under way
//! fails, and the lab's guards remove namespaces, processes and files as the error unwinds.
//! A second Ctrl-C ends xtask at once (leftovers then go with `cargo xtask clean`).

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the SIGINT handler. Children get the default disposition back at exec.
pub(crate) fn install() {
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: `on_sigint` only touches an atomic and calls the async-signal-safe write(2),
    // signal(2) and raise(3).
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Whether Ctrl-C was pressed.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails when Ctrl-C was pressed, so the caller unwinds (and cleans up).
pub(crate) fn check() -> anyhow::Result<()> {
    if interrupted() {
        anyhow::bail!("interrupted");
    }
    Ok(())
}

extern "C" fn on_sigint(_: libc::c_int) {
    let second = INTERRUPTED.swap(true, Ordering::SeqCst);
    let msg: &[u8] = if second {
        b"\nxtask: interrupted again; quitting without cleanup (`cargo xtask clean` removes leftovers)\n"
    } else {
        b"\nxtask: interrupted; cleaning up (interrupt again to quit at once)\n"
    };
    // SAFETY: write(2) to stderr with a valid buffer and length; async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
    }
    if second {
        // SAFETY: restoring the default disposition and re-raising is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::raise(libc::SIGINT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_sigint_is_recorded_not_fatal() {
        install();
        assert!(check().is_ok());
        // SAFETY: raising SIGINT in this process; the handler installed above catches it.
        unsafe {
            libc::raise(libc::SIGINT);
        }
        assert!(interrupted());
        assert_eq!(format!("{}", check().unwrap_err()), "interrupted");
    }
}
