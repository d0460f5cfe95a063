//! The `baton` binary: the headless server, the CLI and the MCP server (see [`baton::cli`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    baton::cli::entry::main(std::env::args_os().collect())
}
