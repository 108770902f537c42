//! `tandemctl`: drives a running tandemd over its control socket (Kea's command shape; see
//! tandemd's `control_api`), or over HTTP with `--url`, `--user` and `--password-file`
//! (`[control] http-listen`). Readable tables by default, the raw JSON answer with `--json`.
//!
//! Exit status: 0 when tandemd answered result 0, 3 when it found nothing (result 3), 1 for an
//! error (result 1 or 2, or no answer), 2 for a usage error.

mod client;
mod http_client;
#[path = "../../kea_config_import.rs"]
mod kea_config_import;
mod render;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use render::View;

/// The socket when neither `--socket` nor `--config` is given: the default of a tandemd whose
/// storage is `/var/lib/tandem` (the example configs) and that sets no `[control] socket`.
const DEFAULT_SOCKET: &str = "/var/lib/tandem/control.sock";

#[derive(Parser)]
#[command(name = "tandemctl", version, about = "Control a running tandemd")]
struct Cli {
    /// The control socket (default: the one `--config` names, else /var/lib/tandem/control.sock).
    #[arg(long, global = true)]
    socket: Option<PathBuf>,
    /// tandemd's config file, to find its control socket.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Speak HTTP to tandemd's `[control] http-listen` instead of the socket
    /// (http://HOST:PORT); needs --user and --password-file.
    #[arg(long, global = true, conflicts_with = "socket")]
    url: Option<String>,
    /// The HTTP Basic user (`[control] http-user`), with --url.
    #[arg(long, global = true, requires = "url")]
    user: Option<String>,
    /// A file whose first line is the HTTP password (mode 0600), with --url.
    #[arg(long, global = true, requires = "url")]
    password_file: Option<PathBuf>,
    /// Print tandemd's JSON answer instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// pid, uptime, datapath, workers and each failover relationship's state (status-get).
    Status,
    /// tandemd's version (version-get).
    Version,
    /// The commands tandemd answers (list-commands).
    Commands,
    /// Every counter of stats.json (statistic-get-all).
    Stats,
    /// Validate a config file as `tandemd check-config` does, in the running tandemd
    /// (config-test).
    ConfigTest { file: PathBuf },
    /// Re-read tandemd's config file and apply it without a restart, or say why not
    /// (config-reload; SIGHUP does the same).
    Reload,
    /// Lease queries and deletion.
    #[command(subcommand)]
    Leases(LeaseCmd),
    /// Failover relationships.
    #[command(subcommand)]
    Failover(FailoverCmd),
    /// Send one raw JSON request and print the answer.
    Raw { request: String },
    /// Convert a Kea kea-dhcp6 config into a tandem config (offline: no tandemd needed); what
    /// cannot be carried over is listed on stderr and in the output's header.
    ImportKeaConfig(kea_config_import::ImportKeaConfig),
}

#[derive(Subcommand)]
enum LeaseCmd {
    /// The lease of an address, or of a prefix written ADDR/LEN (lease6-get).
    Get {
        /// ADDRESS or PREFIX/LEN.
        resource: String,
        /// Look ADDRESS up as a delegated prefix of any length.
        #[arg(long)]
        pd: bool,
    },
    /// Every lease of a client (lease6-get-by-duid).
    ByDuid { duid: String },
    /// Leases in address order (lease6-get-page).
    Page {
        /// Start after this address ("start": from the first).
        #[arg(long, default_value = "start")]
        from: String,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Follow every page to the end.
        #[arg(long)]
        all: bool,
    },
    /// Remove a lease; it is on disk before the answer (lease6-del).
    Del {
        /// ADDRESS or PREFIX/LEN.
        resource: String,
        #[arg(long)]
        pd: bool,
    },
}

#[derive(Subcommand)]
enum FailoverCmd {
    /// Each relationship as stats.json shows it (failover-status).
    Status,
    /// Declare the partner down (RFC 8156 §8; as SIGUSR1): only when it is really stopped.
    PartnerDown {
        /// One relationship (default: every one).
        name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::ImportKeaConfig(args) = &cli.command {
        return match kea_config_import::import_kea_config(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tandemctl: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let target = match target(&cli) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tandemctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (request, view) = match request(&cli.command) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tandemctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let answer = match &cli.command {
        Cmd::Leases(LeaseCmd::Page {
            all: true,
            from,
            limit,
        }) => page_all(&target, from, *limit),
        Cmd::Raw { request } => target.call(request),
        _ => target.call(&request.to_string()),
    };
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tandemctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    print_answer(
        &answer,
        view,
        cli.json || matches!(cli.command, Cmd::Raw { .. }),
    )
}

/// Where requests go: the control socket, or tandemd's HTTP listener.
#[derive(Debug)]
enum Target {
    Socket(PathBuf),
    Http(http_client::HttpTarget),
}

impl Target {
    fn call(&self, request: &str) -> Result<Value, client::ClientError> {
        match self {
            Self::Socket(path) => client::call(path, request),
            Self::Http(http) => http.call(request),
        }
    }
}

/// `--url` with its credentials, else the socket of [`socket_path`].
fn target(cli: &Cli) -> Result<Target, String> {
    let Some(url) = &cli.url else {
        return socket_path(cli.socket.as_deref(), cli.config.as_deref()).map(Target::Socket);
    };
    let user = cli.user.as_deref().ok_or("--url needs --user")?;
    let file = cli
        .password_file
        .as_deref()
        .ok_or("--url needs --password-file")?;
    http_client::HttpTarget::new(url, user, file).map(Target::Http)
}

/// `--socket`, else the `[control] socket` of `--config`, else [`DEFAULT_SOCKET`].
fn socket_path(socket: Option<&Path>, config: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(s) = socket {
        return Ok(s.to_owned());
    }
    match config {
        Some(c) => tandem_config::load(c)
            .map(|c| c.control.socket)
            .map_err(|e| e.to_string()),
        None => Ok(PathBuf::from(DEFAULT_SOCKET)),
    }
}

/// The request for a subcommand, and how to show its answer.
fn request(cmd: &Cmd) -> Result<(Value, View), String> {
    let plain = |c: &str| json!({ "command": c });
    Ok(match cmd {
        Cmd::Status => (plain("status-get"), View::Status),
        Cmd::Version => (plain("version-get"), View::Version),
        Cmd::Commands => (plain("list-commands"), View::Commands),
        Cmd::Stats => (plain("statistic-get-all"), View::Stats),
        Cmd::ImportKeaConfig(_) => {
            return Err("import-kea-config runs here, not in tandemd".to_owned())
        }
        Cmd::Reload => (plain("config-reload"), View::Text),
        Cmd::ConfigTest { file } => {
            // tandemd runs elsewhere: send an absolute path.
            let abs = std::fs::canonicalize(file)
                .or_else(|_| std::env::current_dir().map(|d| d.join(file)))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let args = json!({ "config-file": abs.display().to_string() });
            (
                json!({"command": "config-test", "arguments": args}),
                View::Text,
            )
        }
        Cmd::Leases(LeaseCmd::Get { resource, pd }) => {
            (lookup("lease6-get", resource, *pd), View::Lease)
        }
        Cmd::Leases(LeaseCmd::Del { resource, pd }) => {
            (lookup("lease6-del", resource, *pd), View::Lease)
        }
        Cmd::Leases(LeaseCmd::ByDuid { duid }) => (
            json!({"command": "lease6-get-by-duid", "arguments": {"duid": duid}}),
            View::Leases,
        ),
        Cmd::Leases(LeaseCmd::Page { from, limit, .. }) => (page(from, *limit), View::Leases),
        Cmd::Failover(FailoverCmd::Status) => (plain("failover-status"), View::Failover),
        Cmd::Failover(FailoverCmd::PartnerDown { name }) => {
            let mut r = plain("failover-partner-down");
            if let Some(n) = name {
                r["arguments"] = json!({ "relationship": n });
            }
            (r, View::Text)
        }
        Cmd::Raw { request } => {
            // Sent as typed, so tandemd's own checks can be tried.
            (Value::String(request.clone()), View::Text)
        }
    })
}

/// `lease6-get` / `lease6-del` arguments: `prefix` for ADDR/LEN, `ip-address` (IA_PD with
/// `--pd`) otherwise. The text goes as typed: tandemd says what is wrong with it.
fn lookup(command: &str, resource: &str, pd: bool) -> Value {
    let args = if resource.contains('/') {
        json!({ "prefix": resource })
    } else if pd {
        json!({ "ip-address": resource, "type": "IA_PD" })
    } else {
        json!({ "ip-address": resource })
    };
    json!({ "command": command, "arguments": args })
}

fn page(from: &str, limit: u64) -> Value {
    json!({"command": "lease6-get-page", "arguments": {"from": from, "limit": limit}})
}

/// Every page from `from` on, as one answer with all the leases.
fn page_all(target: &Target, from: &str, limit: u64) -> Result<Value, client::ClientError> {
    let mut from = from.to_owned();
    let mut all = Vec::new();
    loop {
        let a = target.call(&page(&from, limit).to_string())?;
        if a["result"] != 0 {
            if a["result"] == 3 {
                break;
            }
            return Ok(a);
        }
        let leases = a["arguments"]["leases"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let n = leases.len() as u64;
        let last = leases
            .last()
            .and_then(|l| l["ip-address"].as_str())
            .map(str::to_owned);
        all.extend(leases);
        match last {
            Some(l) if n >= limit => from = l,
            _ => break,
        }
    }
    let n = all.len();
    let code = if n == 0 { 3 } else { 0 };
    Ok(
        json!({"result": code, "text": format!("{n} IPv6 lease(s) found."),
              "arguments": {"leases": all, "count": n}}),
    )
}

fn print_answer(answer: &Value, view: View, raw: bool) -> ExitCode {
    let code = answer["result"].as_u64().unwrap_or(1);
    let text = answer["text"].as_str().unwrap_or_default();
    if raw {
        println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_default()
        );
    } else if code == 0 {
        let args = &answer["arguments"];
        let body = if args.is_null() {
            String::new()
        } else {
            render::render(view, args)
        };
        match view {
            View::Text | View::Version => println!("{text}"),
            View::Lease | View::Leases => eprintln!("{text}"),
            _ => {}
        }
        print!("{body}");
    } else {
        eprintln!("tandemctl: {text}");
    }
    match code {
        0 => ExitCode::SUCCESS,
        3 => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(args: &[&str]) -> Value {
        let cli = Cli::try_parse_from(std::iter::once("tandemctl").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        request(&cli.command).unwrap().0
    }

    #[test]
    fn subcommands_build_keas_requests() {
        assert_eq!(req(&["status"]), json!({"command": "status-get"}));
        assert_eq!(
            req(&["version", "--json"]),
            json!({"command": "version-get"})
        );
        assert_eq!(req(&["commands"]), json!({"command": "list-commands"}));
        assert_eq!(req(&["stats"]), json!({"command": "statistic-get-all"}));
        assert_eq!(
            req(&["failover", "status"]),
            json!({"command": "failover-status"})
        );
        assert_eq!(
            req(&["failover", "partner-down", "isp"]),
            json!({"command": "failover-partner-down", "arguments": {"relationship": "isp"}})
        );
        assert_eq!(
            req(&["failover", "partner-down"]),
            json!({"command": "failover-partner-down"})
        );
        assert_eq!(
            req(&["leases", "get", "2001:db8::5"]),
            json!({"command": "lease6-get", "arguments": {"ip-address": "2001:db8::5"}})
        );
        assert_eq!(
            req(&["leases", "get", "--pd", "2001:db8:8000::"]),
            json!({"command": "lease6-get",
                   "arguments": {"ip-address": "2001:db8:8000::", "type": "IA_PD"}})
        );
        assert_eq!(
            req(&["leases", "del", "2001:db8:8000::/56"]),
            json!({"command": "lease6-del", "arguments": {"prefix": "2001:db8:8000::/56"}})
        );
        assert_eq!(
            req(&["leases", "by-duid", "00:01:02"]),
            json!({"command": "lease6-get-by-duid", "arguments": {"duid": "00:01:02"}})
        );
        assert_eq!(
            req(&["leases", "page", "--limit", "7"]),
            json!({"command": "lease6-get-page", "arguments": {"from": "start", "limit": 7}})
        );
        assert_eq!(
            req(&["--json", "leases", "page", "--from", "2001:db8::1"]),
            json!({"command": "lease6-get-page",
                   "arguments": {"from": "2001:db8::1", "limit": 100}})
        );
    }

    fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tandemctl").chain(args.iter().copied()))
    }

    #[test]
    fn url_needs_user_and_password_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
        let pw_s = pw.to_str().unwrap();
        let url = "http://127.0.0.1:8000";
        let full = || {
            let args = [
                "--url",
                url,
                "--user",
                "ops",
                "--password-file",
                pw_s,
                "status",
            ];
            target(&cli(&args).unwrap())
        };
        let t = full();
        assert!(matches!(t, Ok(Target::Http(_))), "{t:?}");
        let e = target(&cli(&["--url", url, "--password-file", pw_s, "status"]).unwrap());
        assert_eq!(e.unwrap_err(), "--url needs --user");
        let e = target(&cli(&["--url", url, "--user", "ops", "status"]).unwrap());
        assert_eq!(e.unwrap_err(), "--url needs --password-file");
        // --user without --url, and --url with --socket, are usage errors.
        assert!(cli(&["--user", "ops", "status"]).is_err());
        assert!(cli(&["--url", url, "--socket", "/s", "status"]).is_err());
        // The password file follows tandemd's rule: owner only.
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(full().unwrap_err().contains("0644"));
        let t = target(&cli(&["status"]).unwrap());
        assert!(matches!(t, Ok(Target::Socket(p)) if p == Path::new(DEFAULT_SOCKET)));
    }

    #[test]
    fn config_test_sends_an_absolute_path() {
        let v = req(&["config-test", "some/relative.toml"]);
        let path = v["arguments"]["config-file"].as_str().unwrap();
        assert!(Path::new(path).is_absolute(), "{path}");
        assert!(path.ends_with("some/relative.toml"), "{path}");
    }

    #[test]
    fn the_socket_comes_from_the_flag_the_config_or_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("t.toml");
        std::fs::write(
            &cfg,
            "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/srv/t\"\n\
             [control]\nsocket = \"/run/t/ctl.sock\"\n",
        )
        .unwrap();
        let flag = Path::new("/tmp/x.sock");
        assert_eq!(socket_path(Some(flag), Some(&cfg)).unwrap(), flag);
        assert_eq!(
            socket_path(None, Some(&cfg)).unwrap(),
            Path::new("/run/t/ctl.sock")
        );
        assert_eq!(socket_path(None, None).unwrap(), Path::new(DEFAULT_SOCKET));
        let e = socket_path(None, Some(&dir.path().join("missing.toml"))).unwrap_err();
        assert!(e.contains("missing.toml"), "{e}");
    }
}
