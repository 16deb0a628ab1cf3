//! The `kith` command: run the server and administer accounts, users and keys.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use kith_domain::Crm;
use kith_domain::saved_filters::Condition;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "kith",
    version,
    about = "Kith: a self-hosted CRM server that speaks vendors' CRM APIs over one data model (today: OnePageCRM API v3 contacts).",
    long_about = None
)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "KITH_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct DbArgs {
    /// Database URL: `postgres://…` or `sqlite://FILE`. Defaults to a SQLite file in the data directory.
    #[arg(long, global = true, env = "KITH_DATABASE_URL")]
    database: Option<String>,
    /// Directory for the embedded database and stored files.
    #[arg(long, global = true, env = "KITH_DATA_DIR", default_value = "kith-data")]
    data_dir: PathBuf,
    /// The URL clients reach Kith at, for links to stored files (photos, attachments). Defaults
    /// to `http://` and the listen address.
    #[arg(long, global = true, env = "KITH_PUBLIC_URL", default_value = "")]
    public_url: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server. On an empty database, creates a demo account and prints its API key.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "KITH_LISTEN")]
        listen: String,
        /// Maximum database connections.
        #[arg(long, default_value_t = 16, env = "KITH_MAX_CONNECTIONS")]
        max_connections: u32,
        /// Largest JSON request body accepted, in bytes.
        #[arg(long, default_value_t = 2 * 1024 * 1024, env = "KITH_JSON_BODY_LIMIT")]
        json_body_limit: usize,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        webhooks: WebhookArgs,
        #[command(flatten)]
        mail: MailArgs,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage accounts (tenants).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage users of an account.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage webhooks: where an account's changes are posted.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Manage saved contact filters (OnePage `/filters`).
    #[command(subcommand)]
    Filter(FilterCommand),
    /// Manage custom-field definitions (Sell's API only reads them).
    #[command(subcommand)]
    Field(FieldCommand),
    /// Import a CSV file as the JSend API's uploads do (`/api/v1/admin/…/upload`): opportunities
    /// by their external id, the people on them by email, sales targets by rep and month.
    /// Prints the totals and where the error file of refused rows is.
    Import {
        /// What the file holds: opportunities, contacts or targets.
        kind: String,
        /// The CSV file.
        file: PathBuf,
        /// The account to import into.
        #[arg(long)]
        account: i64,
        /// Who imports (the owner of new records): a user id; the account's owner by default.
        #[arg(long)]
        user: Option<String>,
        /// Print the totals as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Back up the embedded database while the server runs: writes DIR (which must not exist,
    /// or be empty) with a consistent snapshot `kith.db` and the stored `files/`, laid out like
    /// a data directory. For PostgreSQL, use pg_dump.
    Backup {
        /// The directory to write.
        dir: PathBuf,
    },
    /// Replace the embedded database (and the stored files) with a backup made by `kith backup`
    /// (its directory, or a database file alone). The server must be stopped.
    Restore {
        /// The backup directory or database file.
        source: PathBuf,
        /// Replace a database that is already there (it is kept beside the restored one).
        #[arg(long)]
        force: bool,
    },
    /// Fill the database with realistic generated CRM data: new accounts with users, companies,
    /// contacts, deals, actions, notes, tags and custom-field values.
    Seed {
        /// Contacts in the main account.
        #[arg(long, default_value_t = 10_000)]
        contacts: u64,
        /// Further accounts beside the main one.
        #[arg(long, default_value_t = 2)]
        other_accounts: u32,
        /// Contacts in each further account.
        #[arg(long, default_value_t = 1_000)]
        other_contacts: u64,
        /// Users per account, the owner included.
        #[arg(long, default_value_t = 5)]
        users: u32,
        /// Contacts written per transaction.
        #[arg(long, default_value_t = 2_000)]
        batch: usize,
        /// The same seed generates the same data.
        #[arg(long, default_value_t = 1)]
        rng_seed: u64,
        /// Print the seeded accounts as JSON (one object per line) instead of text.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

/// How long `serve` waits for clients and requests, and how many connections it serves at once.
#[derive(Args)]
struct LimitArgs {
    /// How long a client may take to send a request's line and headers, from connecting (or
    /// from the first byte of a later request on the connection), in milliseconds; then the
    /// connection is closed. 0: no limit.
    #[arg(long, default_value_t = kith::DEFAULT_HEADER_READ_TIMEOUT.as_millis() as u64, env = "KITH_HEADER_READ_TIMEOUT_MS")]
    header_read_timeout_ms: u64,
    /// How long a connection may stay open with no request after a response (or with a response
    /// its client does not read), in milliseconds; then it is closed. 0: no limit.
    #[arg(long, default_value_t = kith::DEFAULT_IDLE_TIMEOUT.as_millis() as u64, env = "KITH_IDLE_TIMEOUT_MS")]
    idle_timeout_ms: u64,
    /// Longest time to answer a request, reading its body included, in milliseconds; a request
    /// that takes longer is answered `503`. 0: no limit.
    #[arg(long, default_value_t = kith::DEFAULT_REQUEST_TIMEOUT.as_millis() as u64, env = "KITH_REQUEST_TIMEOUT_MS")]
    request_timeout_ms: u64,
    /// Most client connections served at once; further ones wait in the listen queue until one
    /// closes.
    #[arg(
        long,
        default_value_t = kith::DEFAULT_MAX_CONNECTIONS,
        env = "KITH_MAX_HTTP_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    max_http_connections: u32,
    /// Requests each API key may make per rate-limit window (Upsales answers `429` past it).
    #[arg(long, default_value_t = 200, env = "KITH_RATE_LIMIT", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: u32,
    /// The rate-limit window, in seconds.
    #[arg(long, default_value_t = 10, env = "KITH_RATE_LIMIT_WINDOW_SECS", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_window_secs: u32,
}

impl LimitArgs {
    fn config(&self, json_body_limit: usize) -> kith::ServeConfig {
        use std::time::Duration;
        let ms = |v: u64| (v > 0).then(|| Duration::from_millis(v));
        kith::ServeConfig {
            http: kith::Config {
                json_body_limit,
                request_timeout: ms(self.request_timeout_ms),
                rate_limit: kith_domain::rate_limits::RateLimit {
                    requests: self.rate_limit,
                    window_secs: self.rate_limit_window_secs,
                },
            },
            header_read_timeout: ms(self.header_read_timeout_ms),
            idle_timeout: ms(self.idle_timeout_ms),
            max_connections: self.max_http_connections,
        }
    }
}

/// Where `serve` sends mail (the JSend uploads' `send_error_email`).
#[derive(Args)]
struct MailArgs {
    /// The SMTP server: `smtp://[user:password@]host[:port]` (`?tls=required` for STARTTLS) or
    /// `smtps://…`. Without it nothing is mailed.
    #[arg(long, env = "KITH_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of Kith's mail.
    #[arg(long, default_value = "Kith <kith@localhost>", env = "KITH_SMTP_FROM")]
    smtp_from: String,
}

/// How `serve` sends webhooks.
#[derive(Args)]
struct WebhookArgs {
    /// Do not send webhooks from this process (another replica sends them).
    #[arg(long, env = "KITH_NO_WEBHOOKS")]
    no_webhooks: bool,
    /// Networks webhooks may reach although internal (loopback, private ranges…), as CIDRs:
    /// `--webhook-allow-net 10.0.0.0/8`. Repeat, or separate with commas in the variable.
    #[arg(long = "webhook-allow-net", env = "KITH_WEBHOOK_ALLOW_NETS", value_delimiter = ',')]
    allow_nets: Vec<ipnet::IpNet>,
    /// Timeout of one delivery request, in milliseconds.
    #[arg(long, default_value_t = 10_000, env = "KITH_WEBHOOK_TIMEOUT_MS")]
    webhook_timeout_ms: u64,
    /// Wait before the first retry, in milliseconds; each further wait doubles.
    #[arg(long, default_value_t = 30_000, env = "KITH_WEBHOOK_RETRY_BASE_MS")]
    webhook_retry_base_ms: u64,
    /// Longest wait between retries, in milliseconds.
    #[arg(long, default_value_t = 3_600_000, env = "KITH_WEBHOOK_RETRY_MAX_MS")]
    webhook_retry_max_ms: u64,
    /// How long a failing delivery is retried before its webhook is disabled, in seconds.
    #[arg(long, default_value_t = 86_400, env = "KITH_WEBHOOK_RETRY_FOR_SECS")]
    webhook_retry_for_secs: u64,
    /// How often an idle sender looks for due deliveries, in milliseconds.
    #[arg(long, default_value_t = 500, env = "KITH_WEBHOOK_POLL_MS")]
    webhook_poll_ms: u64,
    /// How long after a request's timeout another process may take over an unfinished delivery
    /// (the sender died), in milliseconds.
    #[arg(long, default_value_t = 30_000, env = "KITH_WEBHOOK_LEASE_MARGIN_MS")]
    webhook_lease_margin_ms: u64,
}

impl WebhookArgs {
    fn settings(&self) -> kith_webhooks::Settings {
        use std::time::Duration;
        kith_webhooks::Settings {
            timeout: Duration::from_millis(self.webhook_timeout_ms.max(1)),
            retry_base: Duration::from_millis(self.webhook_retry_base_ms.max(1)),
            retry_max: Duration::from_millis(self.webhook_retry_max_ms.max(1)),
            retry_for: Duration::from_secs(self.webhook_retry_for_secs),
            poll: Duration::from_millis(self.webhook_poll_ms.max(10)),
            lease_margin: Duration::from_millis(self.webhook_lease_margin_ms),
            addresses: kith_webhooks::AddressPolicy { allow: self.allow_nets.clone() },
            ..Default::default()
        }
    }
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Register a webhook. Prints its id and signing secret.
    Create {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        url: String,
        #[arg(long)]
        name: String,
        /// The signing secret (at least 16 characters); a random one when omitted.
        #[arg(long)]
        secret: Option<String>,
        /// Entity kinds to receive, comma-separated (contact, company, deal, action, note, call,
        /// meeting); all when omitted.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Payload format.
        #[arg(long, default_value = "onepage")]
        format: String,
        #[arg(long)]
        json: bool,
    },
    /// List an account's webhooks with their state.
    List {
        #[arg(long)]
        account: i64,
    },
    /// Show a webhook's latest deliveries and their attempts.
    Deliveries {
        #[arg(long)]
        account: i64,
        /// The webhook id (24-hex or decimal).
        #[arg(long)]
        id: String,
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Turn a webhook back on after it was disabled; what it missed is sent.
    Enable {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        id: String,
    },
    /// Stop sending to a webhook; changes are kept for it until it is enabled.
    Disable {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum FilterCommand {
    /// Save a contact filter. Each `--condition` is `FIELD OP VALUE`; a contact must meet all.
    ///
    /// Fields: first_name, last_name, company_name, job_title, email, phone (eq, ne, contains,
    /// prefix); status, lead_source (by key: eq, ne); tag (eq, ne); starred (eq true|false);
    /// owner (by email: eq, ne); created_at, modified_at (gt, gte, lt, lte YYYY-MM-DD);
    /// custom:NAME (eq, ne, contains, prefix, gt, gte, lt, lte).
    Create {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        name: String,
        #[arg(long = "condition", required = true)]
        conditions: Vec<String>,
    },
    /// List an account's saved filters.
    List {
        #[arg(long)]
        account: i64,
    },
    /// Delete a saved filter.
    Delete {
        #[arg(long)]
        account: i64,
        /// The filter id (24-hex or decimal).
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum FieldCommand {
    /// Define a custom field. Prints its id.
    ///
    /// Types: text, multi_line_text, number, date, anniversary, dropdown, multi_select,
    /// external_id, section_divider, address, boolean; Sell's names string, list,
    /// multi_select_list and bool are taken too. dropdown and multi_select need choices.
    Create {
        #[arg(long)]
        account: i64,
        /// What the field is for: a person (`contact`), an organisation (`company`), a lead or a deal.
        #[arg(long, value_parser = ["contact", "company", "lead", "deal"])]
        entity: String,
        #[arg(long)]
        name: String,
        #[arg(long = "type")]
        kind: String,
        /// A choice of a dropdown or multi-select field; repeat for each, in order.
        #[arg(long = "choice")]
        choices: Vec<String>,
        /// Print the field as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List an account's custom fields: id, entity, name, type and choices.
    List {
        #[arg(long)]
        account: i64,
        #[arg(long, value_parser = ["contact", "company", "lead", "deal"])]
        entity: Option<String>,
    },
    /// Delete a custom field; records' values of it are no longer shown.
    Delete {
        #[arg(long)]
        account: i64,
        /// The field id (decimal, or 24-hex as OnePage shows it).
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account with an owner user and a first API key.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        /// Print `{"account_id", "user_id", "api_key"}` as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to an account, with a first API key.
    Add {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        email: String,
        /// owner, admin or user.
        #[arg(long, default_value = "user")]
        role: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issue a new API key for a user.
    Create {
        #[arg(long)]
        account: i64,
        /// The user id (24-hex or decimal).
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key: a running server refuses it within 2 seconds.
    ///
    /// Each server process remembers a key it has checked for up to 2 seconds, so a server that
    /// checked the key just before may accept it for up to 2 seconds more. (A key revoked through
    /// the server itself, by OnePage's `change_auth_key`, is refused by that server at once.)
    Revoke {
        #[arg(long)]
        account: i64,
        /// The key id (decimal).
        #[arg(long)]
        key: i64,
    },
    /// Revoke an API key and issue its replacement; a running server refuses the old key within
    /// 2 seconds, as with `revoke`.
    Rotate {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        key: i64,
        #[arg(long)]
        json: bool,
    },
    /// List a user's keys (ids, labels, prefixes; never the keys).
    List {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        user: String,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KITH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn user_id(raw: &str) -> anyhow::Result<i64> {
    record_id(raw, "user")
}

/// An id as a number or as any dialect writes it (OnePage's 24 hex characters).
fn record_id(raw: &str, what: &str) -> anyhow::Result<i64> {
    let raw = raw.trim();
    // Dialect forms first: OnePage's 24 hex characters may be all digits.
    kith::dialects()
        .iter()
        .find_map(|d| d.read_id(raw))
        .or_else(|| raw.parse().ok().filter(|id: &i64| *id > 0))
        .with_context(|| format!("{raw:?} is not a {what} id (a number, or an id as a dialect writes it)"))
}

/// An id as the first dialect writes it (the form its API and its clients take).
fn show_id(id: i64) -> String {
    kith::dialects().first().map_or_else(|| id.to_string(), |d| d.show_id(id))
}

/// An id as the dialect named `format` writes it (a webhook's ids, in its format).
fn show_id_in(format: &str, id: i64) -> String {
    kith::dialects().iter().find(|d| d.name() == format).map_or_else(|| show_id(id), |d| d.show_id(id))
}

/// The user name that goes with an API key where a dialect's credentials take one, else the id.
fn user_name(user_id: i64) -> String {
    kith::dialects().iter().find_map(|d| d.user_name(user_id)).unwrap_or_else(|| user_id.to_string())
}

fn print_key(json_out: bool, account_id: i64, key: &kith_domain::IssuedKey) {
    if json_out {
        println!(
            "{}",
            json!({ "account_id": account_id, "user_id": user_name(key.user_id), "key_id": key.key_id, "api_key": key.secret })
        );
    } else {
        println!("account_id: {account_id}");
        println!("user_id:    {}", user_name(key.user_id));
        println!("key_id:     {}", key.key_id);
        println!("api_key:    {}", key.secret);
        println!("(the key is shown only once)");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let url = kith::database_url(cli.db.database.as_deref(), &cli.db.data_dir)?;
    let files = kith::local_files(&cli.db.data_dir, &cli.db.public_url);
    match cli.command {
        Command::Serve { listen, max_connections, json_body_limit, limits, webhooks, mail } => {
            let public = if cli.db.public_url.trim().is_empty() {
                format!("http://{listen}")
            } else {
                cli.db.public_url.clone()
            };
            let files = kith::local_files(&cli.db.data_dir, &public);
            serve(&url, &listen, max_connections, limits.config(json_body_limit), &webhooks, &mail, files).await
        }
        Command::Webhook(cmd) => webhook_command(&kith::open(&url, 2, files.clone()).await?, cmd).await,
        Command::Migrate => {
            let crm = kith::open(&url, 2, files.clone()).await?;
            let version = crm.migrate().await?;
            println!("schema at version {version}");
            Ok(())
        }
        Command::Account(AccountCommand::Create { name, owner_email, json }) => {
            let crm = kith::open(&url, 2, files.clone()).await?;
            let acc = crm.create_account(&name, &owner_email).await?;
            print_key(json, acc.account_id, &acc.key);
            Ok(())
        }
        Command::User(UserCommand::Add { account, email, role, json }) => {
            let crm = kith::open(&url, 2, files.clone()).await?;
            let (_, key) = crm.add_user(account, &email, &role).await?;
            print_key(json, account, &key);
            Ok(())
        }
        Command::Key(cmd) => key_command(&kith::open(&url, 2, files.clone()).await?, cmd).await,
        Command::Filter(cmd) => filter_command(&kith::open(&url, 2, files.clone()).await?, cmd).await,
        Command::Field(cmd) => field_command(&kith::open(&url, 2, files.clone()).await?, cmd).await,
        Command::Import { kind, file, account, user, json } => {
            let crm = kith::open(&url, 2, files.clone()).await?;
            import_command(&crm, &kind, &file, account, user.as_deref(), json).await
        }
        Command::Backup { dir } => {
            let done = kith::backup::backup(&url, &cli.db.data_dir, &dir).await?;
            println!(
                "backed up {} account(s), schema version {}: {} ({} bytes) and {} stored file(s)",
                done.info.accounts,
                done.info.schema_version,
                dir.join("kith.db").display(),
                done.database_bytes,
                done.files
            );
            Ok(())
        }
        Command::Restore { source, force } => {
            let done = kith::backup::restore(&url, &cli.db.data_dir, &source, force)?;
            println!(
                "restored {} account(s), schema version {} ({} bytes) and {} stored file(s)",
                done.info.accounts, done.info.schema_version, done.database_bytes, done.files
            );
            Ok(())
        }
        Command::Seed { contacts, other_accounts, other_contacts, users, batch, rng_seed, json, quiet } => {
            let crm = kith::open(&url, 2, files.clone()).await?;
            let opts = kith::seed::SeedOptions {
                contacts,
                other_accounts,
                other_contacts,
                users,
                batch,
                rng_seed,
                progress: !quiet,
            };
            let started = std::time::Instant::now();
            let accounts = kith::seed::seed(&crm, &opts).await?;
            for a in &accounts {
                if json {
                    println!("{}", serde_json::to_string(a)?);
                } else {
                    println!(
                        "account {}: {} contacts; user_id {} api_key {}",
                        a.account_id, a.contacts, a.user_id, a.api_key
                    );
                }
            }
            if !json {
                println!("seeded in {:.1}s", started.elapsed().as_secs_f64());
            }
            crm.close().await;
            Ok(())
        }
    }
}

async fn webhook_command(crm: &Crm, cmd: WebhookCommand) -> anyhow::Result<()> {
    let show = |w: &kith_domain::webhooks::Webhook| {
        let state = if w.active {
            "active".to_owned()
        } else {
            format!("disabled: {}", w.disabled_reason.as_deref().unwrap_or("-"))
        };
        let events = if w.events.is_empty() { "all".to_owned() } else { w.events.join(",") };
        println!("{}\t{}\t{}\t{}\t{}\t{}", show_id_in(&w.format, w.id), w.name, w.url, w.format, events, state);
    };
    match cmd {
        WebhookCommand::Create { account, url, name, secret, events, format, json } => {
            let new = kith_domain::webhooks::NewWebhook { name, url, secret, events, format };
            let w = crm.create_webhook(account, new).await?;
            if json {
                println!("{}", json!({ "id": show_id_in(&w.format, w.id), "secret": w.secret, "url": w.url }));
            } else {
                println!("webhook: {}", show_id_in(&w.format, w.id));
                println!("secret:  {}", w.secret);
            }
        }
        WebhookCommand::List { account } => {
            for w in crm.webhooks(account, 1000, 0).await?.rows {
                show(&w);
            }
        }
        WebhookCommand::Deliveries { account, id, limit } => {
            for d in crm.webhook_deliveries(account, record_id(&id, "webhook")?, limit).await? {
                println!(
                    "{}\t{} {} {}\t{}\tattempts {}\t{}",
                    d.id,
                    d.entity_kind,
                    show_id(d.entity_id),
                    d.operation,
                    d.status,
                    d.attempts,
                    d.last_error.as_deref().unwrap_or("")
                );
                for a in crm.delivery_attempts(account, d.id).await? {
                    let code = a.status_code.map_or("-".to_owned(), |c| c.to_string());
                    println!(
                        "\t#{} {} status {} in {} ms {}",
                        a.attempt,
                        a.at.to_rfc3339(),
                        code,
                        a.duration_ms,
                        a.error.as_deref().unwrap_or("")
                    );
                }
            }
        }
        WebhookCommand::Enable { account, id } => {
            show(&crm.set_webhook_active(account, record_id(&id, "webhook")?, true).await?)
        }
        WebhookCommand::Disable { account, id } => {
            show(&crm.set_webhook_active(account, record_id(&id, "webhook")?, false).await?)
        }
    }
    Ok(())
}

async fn filter_command(crm: &Crm, cmd: FilterCommand) -> anyhow::Result<()> {
    match cmd {
        FilterCommand::Create { account, name, conditions } => {
            let parsed = conditions
                .iter()
                .map(|c| Condition::parse(c).with_context(|| format!("{c:?} is not `FIELD OP VALUE`")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let filter = crm.create_saved_filter(account, &name, parsed).await?;
            println!("{}", show_id(filter.id));
        }
        FilterCommand::List { account } => {
            for f in crm.saved_filters(account).await? {
                let conditions: Vec<String> =
                    f.conditions().iter().map(|c| format!("{} {} {}", c.field, c.op, c.value)).collect();
                println!("{}\t{}\t{}", show_id(f.id), f.name, conditions.join(" AND "));
            }
        }
        FilterCommand::Delete { account, id } => {
            crm.delete_saved_filter(account, record_id(&id, "filter")?).await?;
            println!("filter {id} deleted");
        }
    }
    Ok(())
}

async fn import_command(
    crm: &Crm,
    kind: &str,
    file: &std::path::Path,
    account: i64,
    user: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let import = kith_jsend::Import::parse(kind)
        .with_context(|| format!("{kind:?} is not something to import (opportunities, contacts or targets)"))?;
    let user_id = match user {
        Some(raw) => user_id(raw)?,
        None => crm.account_owner(account).await?,
    };
    let actor = kith_domain::Actor { account_id: account, user_id };
    crm.get::<kith_domain::model::User>(actor, user_id).await.context("no such user in the account")?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!("importing {} ({} bytes)", file.display(), bytes.len()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = std::time::Instant::now();
    let totals = kith_jsend::import_file(crm, actor, import, &bytes).await;
    spinner.finish_and_clear();
    let totals = totals.map_err(|e| anyhow::anyhow!("{e}"))?;
    if json_out {
        println!(
            "{}",
            json!({
                "total_imported_rows": totals.imported_rows,
                "total_error_rows": totals.error_rows,
                "error_file": totals.error_file,
                "total_original_rows": totals.original_rows,
            })
        );
    } else {
        println!("rows:     {}", totals.original_rows);
        println!("imported: {}", totals.imported_rows);
        println!("refused:  {}", totals.error_rows);
        if !totals.error_file.is_empty() {
            println!("error file: {}", totals.error_file);
        }
        println!("in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

async fn field_command(crm: &Crm, cmd: FieldCommand) -> anyhow::Result<()> {
    use kith_domain::custom_fields::{CUSTOM_FIELD_KINDS, FieldKind, NewCustomField};
    let actor = |account: i64| async move {
        let owner = crm.account_owner(account).await?;
        anyhow::Ok(kith_domain::Actor { account_id: account, user_id: owner })
    };
    match cmd {
        FieldCommand::Create { account, entity, name, kind, choices, json } => {
            let kind = FieldKind::parse_any(&kind).with_context(|| format!("{kind:?} is not a field type"))?;
            let new = NewCustomField { entity_kind: entity, name, kind, choices, position: None };
            let f = crm.create_custom_field(actor(account).await?, new).await?;
            if json {
                let out = json!({
                    "id": f.id, "entity": f.entity_kind, "name": f.name, "type": f.field_type, "choices": f.choices.0,
                });
                println!("{out}");
            } else {
                println!("{}", f.id);
            }
        }
        FieldCommand::List { account, entity } => {
            let actor = actor(account).await?;
            let kinds: Vec<&str> = match &entity {
                Some(e) => vec![e.as_str()],
                None => CUSTOM_FIELD_KINDS.to_vec(),
            };
            for kind in kinds {
                for f in crm.custom_fields(actor, kind).await? {
                    println!("{}\t{}\t{}\t{}\t{}", f.id, f.entity_kind, f.name, f.field_type, f.choices.0.join(", "));
                }
            }
        }
        FieldCommand::Delete { account, id } => {
            let field = record_id(&id, "field")?;
            crm.delete::<kith_domain::model::CustomFieldDefinition>(actor(account).await?, field).await?;
            println!("field {id} deleted");
        }
    }
    Ok(())
}

async fn key_command(crm: &Crm, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create { account, user, label, json } => {
            let key = crm.create_key(account, user_id(&user)?, &label).await?;
            print_key(json, account, &key);
        }
        KeyCommand::Revoke { account, key } => {
            crm.revoke_key(account, key).await?;
            println!("key {key} revoked");
        }
        KeyCommand::Rotate { account, key, json } => {
            let new = crm.rotate_key(account, key).await?;
            print_key(json, account, &new);
        }
        KeyCommand::List { account, user } => {
            for k in crm.keys(account, user_id(&user)?).await? {
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}…\t{}\t{}", k.id, k.prefix, k.label, state);
            }
        }
    }
    Ok(())
}

async fn serve(
    url: &str,
    listen: &str,
    max_connections: u32,
    config: kith::ServeConfig,
    webhooks: &WebhookArgs,
    mail: &MailArgs,
    files: kith_domain::files::Files,
) -> anyhow::Result<()> {
    // Held until the server exits, so that `kith restore` cannot replace the database under it.
    let _lock = kith::backup::hold_shared(url)?;
    let mut crm = kith::open(url, max_connections, files).await?;
    if let Some(smtp) = mail.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) {
        crm = crm.with_mailer(kith_domain::mail::Mailer::new(smtp.trim(), &mail.smtp_from)?);
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    if !crm.has_accounts().await? {
        let acc = crm.create_account("Demo", "owner@example.com").await?;
        let mut banner = vec![
            "Created a demo account on the empty database.".to_owned(),
            format!("  user_id: {}", user_name(acc.user_id)),
            format!("  api_key: {}", acc.key.secret),
            "Try it:".to_owned(),
        ];
        for d in kith::dialects() {
            banner.extend(d.try_it(&format!("http://{addr}"), acc.user_id, &acc.key.secret).map(|l| format!("  {l}")));
        }
        // Written whole and without `println!`: a reader that stops early (a closed pipe) must
        // not stop the server.
        let _ = writeln!(std::io::stdout(), "{}", banner.join("\n"));
    }
    tracing::info!(%addr, backend = ?crm.backend(), "kith listening");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sender = if webhooks.no_webhooks {
        None
    } else {
        let sender = kith::webhook_sender(crm.clone(), webhooks.settings())?;
        let mut stopped = stopped;
        Some(tokio::spawn(sender.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })))
    };
    let served = kith::serve(listener, crm.clone(), config, kith::shutdown_signal()).await;
    let _ = stop.send(true);
    if let Some(sender) = sender {
        // The sender finishes the requests it has under way.
        let _ = sender.await;
    }
    served?;
    crm.close().await;
    Ok(())
}
