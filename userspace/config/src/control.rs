//! `[control]`: the Unix socket tandemd answers control commands on (Kea's command shape), and
//! the optional HTTP listener for the same commands ([`crate::control_http`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::control_http::{self, HttpControl};
use crate::error::{ConfigError, Invalid};
use crate::locate::Source;
use crate::raw::RawControl;

/// The socket's file name inside the storage directory when `[control] socket` is absent.
pub const CONTROL_SOCKET_DEFAULT_NAME: &str = "control.sock";
/// The longest path a Unix socket can be bound at on Linux (`sun_path` holds 108 bytes with the
/// terminating NUL; unix(7)).
pub const SOCKET_PATH_LEN_MAX: usize = 107;

/// `[control]`: where the control socket is bound (mode 0660), and the optional HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlSettings {
    /// The socket path: `[control] socket` (relative paths are taken from the config file's
    /// directory), or `<storage>/control.sock`.
    pub socket: PathBuf,
    /// `http-listen` with its credentials; `None`: no HTTP listener.
    pub http: Option<HttpControl>,
}

/// `raw` absent: the default in `storage`, whose text is at `storage_span` (the error names
/// `storage.path` when the default would be too long for a socket). `base`: the config file's
/// directory.
pub(crate) fn control(
    raw: Option<RawControl>,
    storage: &Path,
    storage_span: &Range<usize>,
    base: &Path,
    src: &Source<'_>,
) -> Result<ControlSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(ControlSettings {
            socket: default_socket(storage, storage_span, src)?,
            http: None,
        });
    };
    let socket = match raw.socket {
        None => default_socket(storage, storage_span, src)?,
        Some(text) => {
            let span = text.span();
            let written = text.into_inner();
            if written.trim().is_empty() {
                return Err(src.invalid(&span, Invalid::EmptyPath));
            }
            let socket = base.join(written.trim());
            let len = socket.as_os_str().len();
            if len > SOCKET_PATH_LEN_MAX {
                return Err(src.invalid(&span, Invalid::ControlSocketTooLong(len)));
            }
            socket
        }
    };
    let http = control_http::http(
        control_http::RawHttp {
            listen: raw.http_listen,
            user: raw.http_user,
            password_file: raw.http_password_file,
        },
        base,
        src,
    )?;
    Ok(ControlSettings { socket, http })
}

fn default_socket(
    storage: &Path,
    storage_span: &Range<usize>,
    src: &Source<'_>,
) -> Result<PathBuf, ConfigError> {
    let socket = storage.join(CONTROL_SOCKET_DEFAULT_NAME);
    let len = socket.as_os_str().len();
    if len > SOCKET_PATH_LEN_MAX {
        return Err(src.invalid(storage_span, Invalid::ControlSocketTooLong(len)));
    }
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::{parse, ConfigError};

    const HEAD: &str = "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/var/lib/tandem\"\n";

    fn error(tail: &str) -> ConfigError {
        parse(&format!("{HEAD}{tail}"), "/etc/tandem/t.toml").unwrap_err()
    }

    #[test]
    fn absent_means_the_storage_directory() {
        let c = parse(HEAD, "t.toml").unwrap();
        assert_eq!(
            c.control.socket,
            PathBuf::from("/var/lib/tandem/control.sock")
        );
    }

    #[test]
    fn absolute_and_relative_paths() {
        let c = parse(
            &format!("{HEAD}[control]\nsocket = \"/run/tandem/tandemd.sock\"\n"),
            "/etc/tandem/t.toml",
        )
        .unwrap();
        assert_eq!(c.control.socket, PathBuf::from("/run/tandem/tandemd.sock"));
        let c = parse(
            &format!("{HEAD}[control]\nsocket = \"run/ctl.sock\"\n"),
            "/etc/tandem/t.toml",
        )
        .unwrap();
        assert_eq!(c.control.socket, PathBuf::from("/etc/tandem/run/ctl.sock"));
    }

    #[test]
    fn empty_and_long_paths_name_the_key_and_line() {
        let e = error("[control]\nsocket = \"  \"\n");
        assert_eq!(
            e.to_string(),
            "/etc/tandem/t.toml:6: key `control.socket`: the path is empty"
        );
        let long = format!("/run/{}", "s".repeat(103));
        let e = error(&format!("[control]\nsocket = \"{long}\"\n"));
        assert_eq!(
            (e.line(), e.key()),
            (Some(6), Some("control.socket")),
            "{e}"
        );
        assert!(e.to_string().contains("108 bytes"), "{e}");
        // Exactly the limit is fine.
        let fits = format!("/run/{}", "s".repeat(102));
        let c = parse(&format!("{HEAD}[control]\nsocket = \"{fits}\"\n"), "t.toml").unwrap();
        assert_eq!(c.control.socket.as_os_str().len(), 107);
    }

    #[test]
    fn a_long_storage_path_without_control_names_the_storage_path() {
        let text = format!(
            "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/{}\"\n",
            "d".repeat(100)
        );
        let e = parse(&text, "t.toml").unwrap_err();
        assert_eq!((e.line(), e.key()), (Some(4), Some("storage.path")), "{e}");
        assert!(e.to_string().contains("[control] socket"), "{e}");
    }

    #[test]
    fn socket_defaults_and_unknown_keys_refused() {
        let c = parse(&format!("{HEAD}[control]\n"), "t.toml").unwrap();
        assert_eq!(
            c.control.socket,
            PathBuf::from("/var/lib/tandem/control.sock")
        );
        assert_eq!(c.control.http, None);
        let e = error("[control]\nsocket = \"/run/t.sock\"\nmode = \"0600\"\n");
        assert!(e.to_string().contains("mode"), "{e}");
        let e = error("[control]\nsocket = 5\n");
        assert_eq!(e.key(), Some("control.socket"), "{e}");
    }
}
