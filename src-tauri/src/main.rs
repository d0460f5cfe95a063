// The desktop app's entry point: everything is in the library (commands must not live here).
// Given a `baton` subcommand (`baton-desktop task list`, `… mcp`), it is the `baton` CLI: the
// agents it starts reach it as `baton` through `<data-dir>/bin/baton`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if baton::cli::entry::is_command(&args) {
        return baton::cli::entry::main(args);
    }
    baton_desktop::run();
    std::process::ExitCode::SUCCESS
}
