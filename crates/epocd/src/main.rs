//! `epocd`: the command-line entry point. Each subcommand lives in its own module; this file
//! only parses arguments, runs one, and turns its error into a message and an exit status.

mod capture_cmd;
mod cli;
mod config;
mod convert_cmd;
mod decode_cmd;
mod detect_cmd;
mod devices_cmd;
mod error;
mod logging;
mod output;
mod profiles_cmd;
mod records_cmd;
mod serve_cmd;
mod stream_cmd;
mod sync_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = run(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("epocd: {e}");
            ExitCode::from(e.exit_status())
        }
    }
}

fn run(cli: cli::Cli) -> Result<(), error::CliError> {
    // Commands that use the data dir or serve read the config file; the offline tools do not
    // need it (and must work without one).
    let needs_config = matches!(
        cli.command,
        cli::Command::Serve(_)
            | cli::Command::Cert(_)
            | cli::Command::Open(_)
            | cli::Command::Records(_)
            | cli::Command::Sync(_)
            | cli::Command::Export(_)
            | cli::Command::Profiles(_)
    );
    let (config, source) = if needs_config || cli.config.is_some() {
        config::Config::load(cli.config.as_deref())?
    } else {
        (config::Config::default(), None)
    };
    logging::init(cli.log_level.unwrap_or(config.log_level));
    if let Some(path) = &source {
        tracing::debug!("configuration from {}", path.display());
    }
    match cli.command {
        cli::Command::Decode(args) => decode_cmd::run(&args).map_err(error::CliError::from),
        cli::Command::Devices(args) => devices_cmd::run(&args),
        cli::Command::Capture(args) => capture_cmd::run(&args),
        cli::Command::Stream(args) => stream_cmd::run(&args),
        cli::Command::Serve(args) => serve_cmd::run(&args, &config, source.as_deref()),
        cli::Command::Cert(args) => serve_cmd::cert(&args, &config),
        cli::Command::Open(args) => serve_cmd::open(&args, &config),
        cli::Command::Convert(args) => convert_cmd::run(&args),
        cli::Command::Detect(args) => detect_cmd::run(&args).map_err(error::CliError::from),
        cli::Command::Records(args) if args.remote => sync_cmd::remote(&args, &config),
        cli::Command::Records(args) => records_cmd::list(&args, &config),
        cli::Command::Sync(args) => sync_cmd::status(&args, &config),
        cli::Command::Profiles(args) => profiles_cmd::run(&args, &config),
        cli::Command::Export(args) => records_cmd::export(&args, &config),
    }
}
