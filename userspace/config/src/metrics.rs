//! `[metrics]`: where tandemd serves its Prometheus / OpenMetrics endpoint.

use std::net::SocketAddr;

use crate::error::{ConfigError, Invalid};
use crate::locate::Source;
use crate::raw::RawMetrics;

/// `[metrics]`: the HTTP listener answering `GET /metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// Address and port to listen on (any IP; the port is required and not 0).
    pub listen: SocketAddr,
}

pub(crate) fn metrics(raw: RawMetrics, src: &Source<'_>) -> Result<MetricsSettings, ConfigError> {
    let text = raw.listen;
    let listen: SocketAddr = text.get_ref().trim().parse().map_err(|_| {
        src.invalid(
            &text.span(),
            Invalid::MetricsAddress(text.get_ref().clone()),
        )
    })?;
    if listen.port() == 0 {
        return Err(src.invalid(&text.span(), Invalid::PortZero));
    }
    Ok(MetricsSettings { listen })
}

#[cfg(test)]
mod tests {
    use crate::{parse, ConfigError};

    const HEAD: &str = "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/var/lib/tandem\"\n";

    fn error(tail: &str) -> ConfigError {
        parse(&format!("{HEAD}{tail}"), "t.toml").unwrap_err()
    }

    #[test]
    fn absent_means_no_endpoint() {
        assert_eq!(parse(HEAD, "t.toml").unwrap().metrics, None);
    }

    #[test]
    fn any_ip_and_port() {
        for (text, want) in [
            ("[::1]:9547", "[::1]:9547"),
            (" 127.0.0.1:80 ", "127.0.0.1:80"),
            ("[::]:9547", "[::]:9547"),
            ("[fd00::1]:10000", "[fd00::1]:10000"),
        ] {
            let c = parse(&format!("{HEAD}[metrics]\nlisten = \"{text}\"\n"), "t.toml").unwrap();
            assert_eq!(c.metrics.unwrap().listen, want.parse().unwrap(), "{text}");
        }
    }

    #[test]
    fn bad_addresses_name_the_key_and_line() {
        for bad in ["::1", "[::1]", "localhost:9547", "", "[::1]:99999"] {
            let e = error(&format!("[metrics]\nlisten = \"{bad}\"\n"));
            assert_eq!(
                (e.line(), e.key()),
                (Some(6), Some("metrics.listen")),
                "{e}"
            );
            assert!(e.to_string().contains("is not IP:PORT"), "{e}");
        }
        let e = error("[metrics]\nlisten = \"[::1]:0\"\n");
        assert_eq!(
            e.to_string(),
            "t.toml:6: key `metrics.listen`: port 0 is not a port to connect to or listen on"
        );
    }

    #[test]
    fn listen_is_required_and_unknown_keys_refused() {
        assert!(error("[metrics]\n").to_string().contains("listen"));
        let e = error("[metrics]\nlisten = \"[::1]:9547\"\npath = \"/m\"\n");
        assert!(e.to_string().contains("path"), "{e}");
        let e = error("[metrics]\nlisten = 9547\n");
        assert_eq!(e.key(), Some("metrics.listen"), "{e}");
    }
}
