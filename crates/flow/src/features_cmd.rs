//! `flow features add`: creates features from the terminal, one from flags
//! (`POST /api/features`) or many from a JSON array (`POST /api/features/bulk`), contract §5.
//! It prints what the server created, or with `--json` the server's answer byte for byte; a
//! refusal prints the server's message and code (and the items it names) and exits non-zero.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use flow_client::ClientError;
use serde_json::{Value, json};

use crate::agent::{Answer, Failure, USAGE, client, id_list, print, text};
use crate::cli::Output;

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum FeaturesCommand {
    /// Add a feature, or with --file every feature of a JSON array (all or nothing).
    Add(AddArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    pub(crate) out: Output,
    /// The feature's name.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub(crate) name: Option<String>,
    #[arg(long)]
    pub(crate) description: Option<String>,
    #[arg(long)]
    pub(crate) category: Option<String>,
    /// An acceptance step (repeatable, in order).
    #[arg(long = "step", value_name = "TEXT")]
    pub(crate) steps: Vec<String>,
    /// A feature this one depends on (repeatable).
    #[arg(long = "depends-on", value_name = "ID", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) depends_on: Vec<u64>,
    /// Queue position: lower comes first [default: last].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(crate) priority: Option<i64>,
    /// Create every feature of this JSON array instead (`-`: read it from stdin). Items are
    /// feature objects; `"ref"` names one so a later one can depend on it by
    /// `"dependsOnRefs"`.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["description", "category", "steps", "depends_on", "priority"])]
    pub(crate) file: Option<PathBuf>,
}

pub(crate) async fn run(command: FeaturesCommand) -> Result<(), Failure> {
    match command {
        FeaturesCommand::Add(args) => add(args).await,
    }
}

async fn add(args: AddArgs) -> Result<(), Failure> {
    let (path, body) = match &args.file {
        Some(file) => (
            "/api/features/bulk",
            json!({ "features": read_array(file)? }),
        ),
        None => ("/api/features", one(&args)),
    };
    let client = client(&args.out.connect)?;
    let answer = Answer::parse(path, client.post_text(path, body).await.map_err(refused)?)?;
    if args.out.json {
        return answer.print();
    }
    let created = match answer.value.get("features").and_then(Value::as_array) {
        Some(list) => list.clone(),
        None => vec![answer.value],
    };
    let mut out = String::new();
    for f in &created {
        let mut state = text(&f["state"]);
        if let Some(ids) = f["blockedBy"].as_array().filter(|a| !a.is_empty()) {
            let _ = write!(state, ": blocked by {}", id_list(ids));
        }
        let _ = writeln!(out, "Added #{} {} ({state})", f["id"], text(&f["name"]));
    }
    print(&out)
}

/// The body of `POST /api/features` from the flags: only what was given.
fn one(args: &AddArgs) -> Value {
    let mut body = json!({ "name": args.name.clone().unwrap_or_default() });
    if let Some(d) = &args.description {
        body["description"] = json!(d);
    }
    if let Some(c) = &args.category {
        body["category"] = json!(c);
    }
    if !args.steps.is_empty() {
        body["steps"] = json!(args.steps);
    }
    if !args.depends_on.is_empty() {
        body["dependencies"] = json!(args.depends_on);
    }
    if let Some(p) = args.priority {
        body["priority"] = json!(p);
    }
    body
}

/// The features of `--file` (a JSON array, or `{"features": [...]}` as the API takes it).
/// What cannot be read or is not an array is a usage error, before anything is sent.
fn read_array(file: &PathBuf) -> Result<Value, Failure> {
    let usage = |message: String| Failure {
        code: USAGE,
        message,
    };
    let raw = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| usage(format!("cannot read stdin: {e}")))?
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?
    };
    let name = if file.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        file.display().to_string()
    };
    let value: Value =
        serde_json::from_str(&raw).map_err(|e| usage(format!("{name} is not valid JSON: {e}")))?;
    let features = match value {
        Value::Array(_) => value,
        Value::Object(mut map) if map.get("features").is_some_and(Value::is_array) => {
            map.remove("features").unwrap_or_default()
        }
        _ => {
            return Err(usage(format!("{name} must hold a JSON array of features")));
        }
    };
    if features.as_array().is_some_and(Vec::is_empty) {
        return Err(usage(format!("{name} holds no features")));
    }
    Ok(features)
}

/// The server's refusal as one message: its words, the HTTP status and the contract's code,
/// the ids it names (the cycle, the unknown dependencies), and one line per refused item of a
/// batch. The exit code is the agent commands' (1 refused, 4 conflict).
fn refused(err: ClientError) -> Failure {
    let ClientError::Api {
        status,
        code,
        message,
        body,
    } = &err
    else {
        return Failure::from(err);
    };
    let mut line = match code {
        Some(code) => format!("{message} (HTTP {status}, {code})"),
        None => format!("{message} (HTTP {status})"),
    };
    for key in ["cycle", "unknown"] {
        if let Some(ids) = body.get(key).and_then(Value::as_array) {
            let _ = write!(line, "; {key}: {}", id_list(ids));
        }
    }
    for item in body
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = write!(line, "\n  item {}: {}", item["index"], text(&item["error"]));
        if let Some(code) = item["code"].as_str() {
            let _ = write!(line, " ({code})");
        }
    }
    let mut failure = Failure::from(err);
    failure.message = line;
    failure
}
