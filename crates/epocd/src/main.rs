//! `epocd`: the command-line entry point. Each subcommand lives in its own module; this file
//! only parses arguments, runs one, and turns its error into a message and an exit status.

mod capture_cmd;
mod cli;
mod convert_cmd;
mod decode_cmd;
mod devices_cmd;
mod error;
mod output;
mod records_cmd;
mod serve_cmd;
mod stream_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Decode(args) => decode_cmd::run(&args).map_err(error::CliError::from),
        cli::Command::Devices(args) => devices_cmd::run(&args),
        cli::Command::Capture(args) => capture_cmd::run(&args),
        cli::Command::Stream(args) => stream_cmd::run(&args),
        cli::Command::Serve(args) => serve_cmd::run(&args),
        cli::Command::Cert(args) => serve_cmd::cert(&args),
        cli::Command::Convert(args) => convert_cmd::run(&args),
        cli::Command::Records(args) => records_cmd::list(&args),
        cli::Command::Export(args) => records_cmd::export(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("epocd: {e}");
            ExitCode::from(e.exit_status())
        }
    }
}
