// tauri.conf.json sits at the repository root; tauri_build::build() would look in src-tauri/.
fn main() {
    if let Err(err) =
        tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
    {
        panic!("tauri build step failed: {err:#}");
    }
}
