//! `ninerouter serve`: the headless router; `ninerouter admin …`: its admin access.

use std::path::PathBuf;

mod cli;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ninerouter::engine::{Engine, EngineOptions, default_data_dir};
use ninerouter::secrets::BackendChoice;

#[derive(Parser)]
#[command(
    name = "ninerouter",
    version,
    about = "Local AI API router for coding tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the router (the default when no command is given).
    Serve(ServeArgs),
    /// Admin access to the dashboard and the management API (works while the router runs).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
        /// The router's data directory [default: the platform's data dir]
        #[arg(long, env = "NINEROUTER_DATA_DIR", global = true)]
        data_dir: Option<PathBuf>,
        /// The shared PostgreSQL store, for a team server (postgres://…)
        #[arg(
            long = "store",
            env = "NINEROUTER_STORE",
            hide_env_values = true,
            global = true
        )]
        store: Option<String>,
        /// A PEM certificate to trust for the shared store's TLS (a private CA)
        #[arg(long, env = "NINEROUTER_STORE_CA_FILE", global = true)]
        store_ca_file: Option<PathBuf>,
    },
    /// Point coding tools (Claude Code, Codex, Gemini CLI, …) at the running router, or undo it.
    Tools {
        #[command(subcommand)]
        command: Option<cli::ToolsCommand>,
        #[command(flatten)]
        router: cli::RouterArgs,
    },
    /// Bring in a 9Router or CLIProxyAPI setup: accounts, logins, nodes, combos, aliases, keys.
    Import {
        /// 9router or cliproxyapi
        source: String,
        /// Its data dir or file [default: where it keeps it: ~/.9router, ~/.cli-proxy-api/config.yaml]
        #[arg(long)]
        from: Option<PathBuf>,
        /// Apply without asking (the preview is still shown)
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        router: cli::RouterArgs,
    },
    /// Write the whole setup (with its keys and logins) to a passphrase-encrypted file.
    Export {
        #[arg(long)]
        out: PathBuf,
        /// Carry the usage history too
        #[arg(long)]
        with_usage: bool,
        #[command(flatten)]
        router: cli::RouterArgs,
    },
    /// Bring in a setup file made by `ninerouter export`.
    ImportSetup {
        file: PathBuf,
        /// Apply without asking (the preview is still shown)
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        router: cli::RouterArgs,
    },
    /// Where the secrets are kept.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
        /// The router's data directory [default: the platform's data dir]
        #[arg(long, env = "NINEROUTER_DATA_DIR", global = true)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Move every secret to the keychain or the owner-only file (stop the router first; a
    /// running one moves them from Settings instead).
    Move {
        /// keychain or file
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Set the dashboard password (asked for on the terminal, or read from standard input).
    SetPassword,
    /// Remove the dashboard password: on loopback the dashboard opens without a login again.
    ClearPassword,
    /// Create an admin token for scripts; it is printed once.
    CreateToken {
        /// What the token is for.
        name: String,
    },
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1, or the config file's server.host]
    #[arg(long, env = "NINEROUTER_HOST")]
    host: Option<String>,
    /// Port to listen on [default: 20128, or the config file's server.port]
    #[arg(long, env = "NINEROUTER_PORT")]
    port: Option<u16>,
    /// Where the database and (without a keychain) secrets live [default: the platform's data dir]
    #[arg(long, env = "NINEROUTER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A TOML file declaring providers, combos, aliases and proxy keys
    #[arg(long, env = "NINEROUTER_CONFIG")]
    config: Option<PathBuf>,
    /// Where secrets are kept: auto (keychain, else a 0600 file), keychain, file, memory
    #[arg(long, env = "NINEROUTER_SECRETS", default_value = "auto")]
    secrets: BackendChoice,
    /// A PostgreSQL database shared by several router hosts (postgres://user:pass@host/db)
    /// [default: SQLite in the data dir, or the config file's [store] url]
    #[arg(long = "store", env = "NINEROUTER_STORE", hide_env_values = true)]
    store: Option<String>,
    /// A file holding the master key that seals secrets in a shared store (or set
    /// NINEROUTER_MASTER_KEY)
    #[arg(long, env = "NINEROUTER_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// A PEM certificate to trust for the shared store's TLS (a private CA)
    #[arg(long, env = "NINEROUTER_STORE_CA_FILE")]
    store_ca_file: Option<PathBuf>,
}

/// glibc's allocator contends between worker threads under load; mimalloc measured faster
/// in `make bench` (see README). It is built without transparent huge pages (`no_thp`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages make every 2 MiB the allocator touches resident in full: idle RSS
/// was 30 MiB with them and 20 MiB without, at the same CPU per request (`make bench`). The
/// `no_thp` build stops mimalloc asking for them; this stops a kernel set to use them
/// always (the setting is the process's, and applies to every fault from here on).
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
        let (on, unused): (libc::c_ulong, libc::c_ulong) = (1, 0);
        let refused =
            unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, on, unused, unused, unused) } != 0;
        if refused {
            tracing::debug!("the kernel kept transparent huge pages on");
        }
    }
}

/// Run by the engine once the router is quiet after some work: mimalloc carries out the
/// purges of freed memory it had put off, process-wide (it does them lazily, on later
/// allocations, so memory freed just before the router went idle stayed resident; what other
/// threads' heaps still hold stays theirs), and glibc's malloc, which SQLite uses, hands its
/// free pages back. `make bench` measures RSS two seconds after its load.
fn give_memory_back() {
    // SAFETY: both walk their allocator's own free lists and take no pointers of ours.
    unsafe { libmimalloc_sys::mi_collect(true) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

fn main() -> anyhow::Result<()> {
    ninerouter::logging::init();
    without_huge_pages();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Some(Command::Serve(a)) => runtime.block_on(serve(a)),
        None => runtime.block_on(serve(ServeArgs::default())),
        Some(Command::Admin {
            command,
            data_dir,
            store,
            store_ca_file,
        }) => {
            let data_dir = data_dir.unwrap_or_else(default_data_dir);
            runtime.block_on(admin(command, data_dir, store, store_ca_file))
        }
        Some(Command::Tools { command, router }) => runtime.block_on(cli::tools(command, &router)),
        Some(Command::Import {
            source,
            from,
            yes,
            router,
        }) => runtime.block_on(cli::import_peer(&source, from, yes, &router)),
        Some(Command::Export {
            out,
            with_usage,
            router,
        }) => runtime.block_on(cli::export(&out, with_usage, &router)),
        Some(Command::ImportSetup { file, yes, router }) => {
            runtime.block_on(cli::import_setup(&file, yes, &router))
        }
        Some(Command::Secrets {
            command: SecretsCommand::Move { to },
            data_dir,
        }) => {
            let data_dir = data_dir.unwrap_or_else(default_data_dir);
            runtime.block_on(move_secrets(&to, data_dir))
        }
    }
}

async fn move_secrets(to: &str, data_dir: PathBuf) -> anyhow::Result<()> {
    use ninerouter::secrets::BackendKind;
    let to = match BackendKind::parse(to) {
        Some(k @ (BackendKind::Keychain | BackendKind::File)) => k,
        _ => anyhow::bail!("--to takes keychain or file"),
    };
    let store = open_store(&data_dir)?;
    let moved = ninerouter::manage::move_secrets_offline(
        &store,
        &data_dir,
        ninerouter::secrets::KEYCHAIN_SERVICE,
        to,
    )
    .await?;
    println!("{} secrets are in the {} now.", moved.moved, to.describe());
    Ok(())
}

/// The shared store at `url` when one is named, else the SQLite store of `data_dir`.
async fn open_store_at(
    data_dir: &std::path::Path,
    url: Option<String>,
    ca_file: Option<PathBuf>,
) -> anyhow::Result<ninerouter::store::Store> {
    let Some(url) = url else {
        return open_store(data_dir);
    };
    anyhow::ensure!(
        ninerouter::store::is_postgres_url(&url),
        "--store takes a postgres:// address"
    );
    tokio::task::spawn_blocking(move || {
        ninerouter::store::Store::open_postgres(&url, ca_file.as_deref())
    })
    .await?
    .context("cannot open the shared store")
}

fn open_store(data_dir: &std::path::Path) -> anyhow::Result<ninerouter::store::Store> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let store = ninerouter::store::Store::open(&data_dir.join("ninerouter.db"))
        .context("cannot open the router's database")?;
    ninerouter::engine::make_private(data_dir)
        .with_context(|| format!("cannot make {} private", data_dir.display()))?;
    Ok(store)
}

async fn admin(
    command: AdminCommand,
    data_dir: PathBuf,
    store: Option<String>,
    store_ca_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    use ninerouter::manage::admin;
    let store = open_store_at(&data_dir, store, store_ca_file).await?;
    match command {
        AdminCommand::SetPassword => {
            let password = read_password()?;
            admin::set_password_offline(&store, Some(password)).await?;
            println!("The dashboard password is set.");
        }
        AdminCommand::ClearPassword => {
            admin::set_password_offline(&store, None).await?;
            println!("The dashboard password is removed.");
        }
        AdminCommand::CreateToken { name } => {
            let token = admin::create_admin_token_offline(&store, &name).await?;
            println!("{token}");
        }
    }
    Ok(())
}

/// From the terminal without echo, or the first line of standard input (for scripts).
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New dashboard password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(password)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let options = EngineOptions {
        host: args.host,
        port: args.port,
        data_dir: args.data_dir.unwrap_or_else(default_data_dir),
        config_file: args.config,
        secrets: args.secrets,
        store: args.store,
        master_key: std::env::var("NINEROUTER_MASTER_KEY")
            .ok()
            .filter(|k| !k.is_empty())
            .map(ninerouter::secrets::SecretString::new),
        master_key_file: args.master_key_file,
        store_ca_file: args.store_ca_file,
        at_rest: Some(give_memory_back),
        ..EngineOptions::default()
    };
    let engine = Engine::start(options)
        .await
        .context("NineRouter could not start")?;
    println!("NineRouter listening on http://{}", engine.address());
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    engine.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
