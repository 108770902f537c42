//! Kea's `kea-dhcp6` config into a tandem config file: `tandemd import-kea-config` and
//! `tandemctl import-kea-config` (issue 5, migration), one file compiled into both binaries.

use std::fs;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use tandem_kea::ImportOptions;

/// `[storage] path` written when `--storage` is not given.
const DEFAULT_STORAGE: &str = "/var/lib/tandem";

/// The arguments of `import-kea-config`, the same in both binaries.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportKeaConfig {
    /// Kea's config file (JSON with comments).
    file: PathBuf,
    /// Where to write the tandem config (default: stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// The `[storage] path` to write (default: /var/lib/tandem).
    #[arg(long)]
    storage: Option<String>,
}

/// `import-kea-config`: Kea's `kea-dhcp6` config → a tandem config, validated as `tandemd run`
/// would, written to `--output` (stdout without it). What was not carried over is listed on
/// stderr (and in the file's header).
pub(crate) fn import_kea_config(args: &ImportKeaConfig) -> anyhow::Result<()> {
    let (file, output, storage) = (
        args.file.as_path(),
        args.output.as_deref(),
        args.storage.as_deref(),
    );
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let opts = ImportOptions {
        source_name: file.display().to_string(),
        storage_path: storage.unwrap_or(DEFAULT_STORAGE).to_owned(),
    };
    let imported = tandem_kea::import_config_with(&text, &opts)
        .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let name = output.map_or_else(|| "(output)".to_owned(), |p| p.display().to_string());
    tandem_config::parse(&imported.toml, &name)
        .map_err(|e| anyhow!("the imported config does not validate: {e}"))?;
    match output {
        Some(path) => {
            fs::write(path, &imported.toml).with_context(|| format!("writing {name}"))?;
        }
        None => print!("{}", imported.toml),
    }
    eprintln!(
        "{}: imported; {} setting(s) not carried over{}",
        file.display(),
        imported.not_carried.len(),
        if imported.not_carried.is_empty() {
            ""
        } else {
            ":"
        }
    );
    for n in &imported.not_carried {
        eprintln!("  {n}");
    }
    Ok(())
}
