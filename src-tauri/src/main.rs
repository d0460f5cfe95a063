// The desktop app's entry point: everything is in the library (commands must not live here).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    baton_desktop::run();
}
