//! The baseline of `bench/desktop-weight.sh`: what one Tauri 2 window costs on this machine with
//! nothing in it — the same configuration and rendering choice as Baton's window, showing
//! `about:blank`, without the core. Baton's own weight is its figure minus this one.
//!
//!   cargo build --release -p baton-desktop --features custom-protocol --example blank

fn main() {
    baton_desktop::prepare_rendering();
    tauri::Builder::default()
        .setup(|app| {
            use tauri::Manager;
            let window = app.get_webview_window("main").ok_or("no main window")?;
            window.navigate("about:blank".parse()?)?;
            eprintln!("blank window ready");
            Ok(())
        })
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("the blank window runs");
}
