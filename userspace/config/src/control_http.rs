//! `[control] http-listen`, `http-user`, `http-password-file`: the control API over HTTP, in
//! Kea Control Agent's shape, always behind HTTP Basic authentication (RFC 7617).
//!
//! The password file is not opened by [`crate::load`] (so a config can be checked before the
//! file is made, as with the TLS files): [`crate::Config::check_files`] (hence `check-config`
//! and every reload) and tandemd's start-up read it as [`HttpControl::read_password_owned_by`]
//! does, with the same checks: among them a password of at least 16
//! bytes, since nothing limits how fast an HTTP client may guess.

use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::error::{ConfigError, Invalid};
use crate::failover::{FileProblem, UnreadableFile};
use crate::locate::Source;

/// The longest user name accepted.
pub const HTTP_USER_LEN_MAX: usize = 64;
/// How much of the password file is read: its first line must end within this.
pub const HTTP_PASSWORD_FILE_READ_MAX: u64 = 4096;
/// The shortest HTTP password tandemd takes, in bytes: guessing over loopback runs at
/// thousands of tries a second, so the password must be long and random.
pub(crate) const HTTP_PASSWORD_LEN_MIN: usize = 16;
/// Permission bits a password file must not have (group and others).
const OPEN_TO_OTHERS: u32 = 0o077;
/// The HTTP listener of the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpControl {
    /// `http-listen`: any IP, a port above 0.
    pub listen: SocketAddr,
    /// `http-user`: the one HTTP Basic user.
    pub user: String,
    /// `http-password-file` (relative paths are taken from the config file's directory): the
    /// password is its first line.
    pub password_file: PathBuf,
}

impl HttpControl {
    /// The password as tandemd reads it: [`read_http_password`] of the password file, also
    /// refusing a file owned by another user than `euid` (tandemd's effective uid) or root
    /// (`chown tandem` + `chmod 600`), and a password shorter than 16 bytes.
    pub fn read_password_owned_by(&self, euid: u32) -> Result<Vec<u8>, FileProblem> {
        read_password(&self.password_file, Some(euid)).and_then(long_enough)
    }

    /// The password file's problem, if it has one: [`Self::read_password_owned_by`] with this
    /// process's effective uid (the owner of `/proc/self`; the owner is not checked when that
    /// cannot be read), so `check-config` run as tandemd's user refuses what start-up refuses.
    pub fn check_file(&self) -> Option<UnreadableFile> {
        let euid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
        read_password(&self.password_file, euid)
            .and_then(long_enough)
            .err()
            .map(|problem| UnreadableFile {
                key: "control.http-password-file".to_owned(),
                path: self.password_file.clone(),
                problem,
            })
    }
}

/// The `[control]` keys of the HTTP listener, as written.
pub(crate) struct RawHttp {
    pub(crate) listen: Option<Spanned<String>>,
    pub(crate) user: Option<Spanned<String>>,
    pub(crate) password_file: Option<Spanned<String>>,
}

/// `None` when `http-listen` is absent (and so are the other two keys).
pub(crate) fn http(
    raw: RawHttp,
    base: &Path,
    src: &Source<'_>,
) -> Result<Option<HttpControl>, ConfigError> {
    let Some(listen) = raw.listen else {
        for (name, key) in [
            ("http-user", &raw.user),
            ("http-password-file", &raw.password_file),
        ] {
            if let Some(k) = key {
                return Err(src.invalid(&k.span(), Invalid::HttpKeyUnused(name)));
            }
        }
        return Ok(None);
    };
    let span = listen.span();
    let text = listen.into_inner();
    let addr: SocketAddr = text
        .trim()
        .parse()
        .map_err(|_| src.invalid(&span, Invalid::HttpAddress(text.clone())))?;
    if addr.port() == 0 {
        return Err(src.invalid(&span, Invalid::PortZero));
    }
    let Some(user) = raw.user else {
        return Err(src.invalid(&span, Invalid::HttpKeyMissing("http-user")));
    };
    let Some(file) = raw.password_file else {
        return Err(src.invalid(&span, Invalid::HttpKeyMissing("http-password-file")));
    };
    let user_span = user.span();
    let user = user.into_inner();
    let user_ok = (1..=HTTP_USER_LEN_MAX).contains(&user.chars().count())
        && !user.chars().any(|c| c == ':' || c.is_control());
    if !user_ok {
        return Err(src.invalid(&user_span, Invalid::HttpUser(user)));
    }
    let file_span = file.span();
    let written = file.into_inner();
    if written.trim().is_empty() {
        return Err(src.invalid(&file_span, Invalid::EmptyPath));
    }
    Ok(Some(HttpControl {
        listen: addr,
        user,
        password_file: base.join(written.trim()),
    }))
}

/// The HTTP password: the first line of the file at `path`, its line end (`\n` or `\r\n`)
/// stripped. Refused: a file that cannot be read, that is not a regular file (a FIFO, a
/// device: opened without blocking, never read), whose mode lets group or others in
/// (`mode & 0o077 != 0`), or whose first line is empty.
pub fn read_http_password(path: &Path) -> Result<Vec<u8>, FileProblem> {
    read_password(path, None)
}

/// Refuses a password shorter than [`HTTP_PASSWORD_LEN_MIN`] bytes.
fn long_enough(password: Vec<u8>) -> Result<Vec<u8>, FileProblem> {
    if password.len() >= HTTP_PASSWORD_LEN_MIN {
        return Ok(password);
    }
    Err(FileProblem::TooShort {
        len: password.len(),
        min: HTTP_PASSWORD_LEN_MIN,
    })
}

/// Opens without blocking (a FIFO without a writer would block `open` itself).
fn open_nonblocking(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

fn read_password(path: &Path, owner: Option<u32>) -> Result<Vec<u8>, FileProblem> {
    let file = open_nonblocking(path)?;
    // The metadata of the file opened, not of whatever the path names a moment later.
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(FileProblem::NotRegular);
    }
    if let Some(euid) = owner {
        if meta.uid() != euid && meta.uid() != 0 {
            return Err(FileProblem::Owner {
                owner: meta.uid(),
                reader: euid,
            });
        }
    }
    let mode = meta.permissions().mode();
    if mode & OPEN_TO_OTHERS != 0 {
        return Err(FileProblem::OpenToOthers(mode & 0o7777));
    }
    let mut bytes = Vec::new();
    file.take(HTTP_PASSWORD_FILE_READ_MAX)
        .read_to_end(&mut bytes)?;
    let mut line = match bytes.iter().position(|&b| b == b'\n') {
        Some(end) => bytes[..end].to_vec(),
        None => bytes,
    };
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.is_empty() {
        return Err(FileProblem::Empty);
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::{parse, ConfigError};

    const HEAD: &str = "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/var/lib/tandem\"\n";

    fn error(tail: &str) -> ConfigError {
        parse(&format!("{HEAD}{tail}"), "/etc/tandem/t.toml").unwrap_err()
    }

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn with_file(file: &Path) -> String {
        format!(
            "{HEAD}[control]\nhttp-listen = \"127.0.0.1:8000\"\nhttp-user = \"ops\"\n\
             http-password-file = \"{}\"\n",
            file.display()
        )
    }

    #[test]
    fn a_complete_listener_with_a_private_file_is_ok() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "pw", "s3cret-0123456789\n", 0o600);
        let c = parse(&with_file(&file), "/etc/tandem/t.toml").unwrap();
        let http = c.control.http.clone().unwrap();
        assert_eq!(http.listen, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(http.user, "ops");
        assert_eq!(http.password_file, file);
        assert_eq!(
            c.control.socket,
            PathBuf::from("/var/lib/tandem/control.sock")
        );
        assert!(c.check_files().is_empty());
        // Relative paths are taken from the config file's directory.
        let c = parse(
            &format!(
                "{HEAD}[control]\nhttp-listen = \"[::1]:8000\"\nhttp-user = \"ops\"\n\
                 http-password-file = \"secrets/pw\"\n"
            ),
            "/etc/tandem/t.toml",
        )
        .unwrap();
        assert_eq!(
            c.control.http.unwrap().password_file,
            PathBuf::from("/etc/tandem/secrets/pw")
        );
    }

    #[test]
    fn a_listener_without_credentials_names_the_missing_key() {
        let e = error("[control]\nhttp-listen = \"127.0.0.1:8000\"\n");
        assert_eq!(
            e.to_string(),
            "/etc/tandem/t.toml:6: key `control.http-listen`: `http-user` is required with \
             `http-listen`: the HTTP control API always asks for HTTP Basic credentials"
        );
        let e = error("[control]\nhttp-listen = \"127.0.0.1:8000\"\nhttp-user = \"ops\"\n");
        assert_eq!(e.key(), Some("control.http-listen"), "{e}");
        assert!(
            e.to_string().contains("`http-password-file` is required"),
            "{e}"
        );
        // Credentials without a listener are a mistake too.
        let e = error("[control]\nhttp-user = \"ops\"\n");
        assert_eq!(
            (e.line(), e.key()),
            (Some(6), Some("control.http-user")),
            "{e}"
        );
        assert!(e.to_string().contains("`http-listen` is not"), "{e}");
        let e = error("[control]\nhttp-password-file = \"/etc/pw\"\n");
        assert_eq!(e.key(), Some("control.http-password-file"), "{e}");
    }

    #[test]
    fn bad_addresses_users_and_paths_name_their_key() {
        for bad in ["8000", "localhost:8000", "[::1]", ""] {
            let e = error(&format!(
                "[control]\nhttp-listen = \"{bad}\"\nhttp-user = \"ops\"\n\
                 http-password-file = \"/p\"\n"
            ));
            assert_eq!(e.key(), Some("control.http-listen"), "{e}");
            assert!(e.to_string().contains("is not IP:PORT"), "{e}");
        }
        let e = error(
            "[control]\nhttp-listen = \"[::1]:0\"\nhttp-user = \"ops\"\nhttp-password-file = \"/p\"\n",
        );
        assert!(e.to_string().contains("port 0"), "{e}");
        let long = "u".repeat(HTTP_USER_LEN_MAX + 1);
        for bad in ["", "a:b", "tab\\there", long.as_str()] {
            let e = error(&format!(
                "[control]\nhttp-listen = \"[::1]:8000\"\nhttp-user = \"{bad}\"\n\
                 http-password-file = \"/p\"\n"
            ));
            assert_eq!(
                (e.line(), e.key()),
                (Some(7), Some("control.http-user")),
                "{e}"
            );
        }
        let e = error(
            "[control]\nhttp-listen = \"[::1]:8000\"\nhttp-user = \"ops\"\nhttp-password-file = \" \"\n",
        );
        assert_eq!(e.key(), Some("control.http-password-file"), "{e}");
        assert!(e.to_string().contains("the path is empty"), "{e}");
    }

    #[test]
    fn check_files_refuses_a_missing_empty_or_shared_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let shared = write(dir.path(), "group", "s3cret\n", 0o640);
        let empty = write(dir.path(), "empty", "", 0o600);
        let blank = write(dir.path(), "blank", "\nsecond line\n", 0o400);
        let missing = dir.path().join("missing");
        for (file, want) in [
            (&shared, "mode 0640 lets group or others in"),
            (&empty, "the file is empty"),
            (&blank, "the file is empty"),
            (&missing, "cannot read"),
        ] {
            let c = parse(&with_file(file), "/etc/tandem/t.toml").unwrap();
            let problems = c.check_files();
            assert_eq!(problems.len(), 1, "{file:?}");
            let text = problems[0].to_string();
            assert!(
                text.starts_with("key `control.http-password-file`: ")
                    && text.contains(&file.display().to_string())
                    && text.contains(want),
                "{text}"
            );
        }
    }

    #[test]
    fn the_password_is_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        for (text, want) in [
            ("s3cret", &b"s3cret"[..]),
            ("s3cret\n", b"s3cret"),
            ("s3cret\r\n", b"s3cret"),
            ("pass word \nignored\n", b"pass word "),
        ] {
            let f = write(dir.path(), "pw", text, 0o600);
            assert_eq!(read_http_password(&f).unwrap(), want, "{text:?}");
        }
        let f = write(dir.path(), "world", "x\n", 0o604);
        assert!(matches!(
            read_http_password(&f),
            Err(FileProblem::OpenToOthers(0o604))
        ));
        // A private directory opens, and is refused: not a regular file.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        let e = read_http_password(&sub).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    /// A FIFO without a writer hung start-up: it opens at once and is refused.
    #[test]
    fn a_fifo_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg("-m")
            .arg("600")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let opened = open_nonblocking(&path).map(|_| ());
            let read = read_http_password(&path).map_err(|e| e.to_string());
            let _ = tx.send((opened, read));
        });
        let (opened, read) = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("opening a FIFO blocked");
        assert!(opened.is_ok(), "{opened:?}");
        let e = read.unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }

    /// tandemd takes a file owned by itself or root only.
    #[test]
    fn the_owner_must_be_the_reader_or_root() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "pw", "s3cret\n", 0o600);
        let mut owner = std::fs::metadata(&f).unwrap().uid();
        if owner == 0 {
            // Root's file is taken by anyone; as root, give it to another user.
            assert_eq!(read_password(&f, Some(4242)).unwrap(), b"s3cret");
            std::os::unix::fs::chown(&f, Some(4242), None).unwrap();
            owner = 4242;
        }
        assert_eq!(read_password(&f, Some(owner)).unwrap(), b"s3cret");
        let other = owner + 1;
        let e = read_password(&f, Some(other)).unwrap_err().to_string();
        assert!(
            e.contains(&format!("owned by uid {owner}")) && e.contains(&format!("(uid {other})")),
            "{e}"
        );
        // tandemctl does not check the owner.
        assert_eq!(read_http_password(&f).unwrap(), b"s3cret");
    }

    /// Guessing is not rate-limited: `check-config` (hence reload) and start-up refuse a
    /// password shorter than 16 bytes, suggesting how to make one.
    #[test]
    fn a_short_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = write(dir.path(), "short", "0123456789abcde\n", 0o600);
        let c = parse(&with_file(&short), "/etc/tandem/t.toml").unwrap();
        let problems = c.check_files();
        assert_eq!(problems.len(), 1);
        let text = problems[0].to_string();
        assert!(
            text.starts_with("key `control.http-password-file`: ")
                && text.contains("15 bytes long, shorter than 16")
                && text.contains("`openssl rand -base64 24`"),
            "{text}"
        );
        let http = c.control.http.unwrap();
        let owner = std::fs::metadata(&short).unwrap().uid();
        let e = http.read_password_owned_by(owner).unwrap_err().to_string();
        assert!(e.contains("shorter than 16"), "{e}");
        // tandemctl takes what it is given.
        assert_eq!(read_http_password(&short).unwrap(), b"0123456789abcde");
        let enough = write(dir.path(), "enough", "0123456789abcdef\n", 0o600);
        let c = parse(&with_file(&enough), "/etc/tandem/t.toml").unwrap();
        assert!(c.check_files().is_empty());
        let http = c.control.http.unwrap();
        assert_eq!(
            http.read_password_owned_by(owner).unwrap(),
            b"0123456789abcdef"
        );
    }

    /// `check-config` checks the owner as start-up does, against its own effective uid.
    #[test]
    fn check_files_refuses_a_file_of_another_user() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "pw", "s3cret-0123456789\n", 0o600);
        let c = parse(&with_file(&f), "/etc/tandem/t.toml").unwrap();
        assert!(c.check_files().is_empty());
        let euid = std::fs::metadata("/proc/self").unwrap().uid();
        if euid != 0 {
            // Only root can give a file away.
            return;
        }
        std::os::unix::fs::chown(&f, Some(4242), None).unwrap();
        let problems = c.check_files();
        assert_eq!(problems.len(), 1);
        let text = problems[0].to_string();
        assert!(
            text.contains("owned by uid 4242") && text.contains("(uid 0)"),
            "{text}"
        );
        // Root's file is taken.
        std::os::unix::fs::chown(&f, Some(0), None).unwrap();
        assert!(c.check_files().is_empty());
    }
}
