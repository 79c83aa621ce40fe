//! Build script.
//!
//! On Windows targets it embeds the application icon and version information
//! (taken from Cargo.toml) into `classchat.exe`, so Explorer, the taskbar and
//! the Start menu show the ClassChat icon. On every other target it does
//! nothing.

use std::env;
use std::error::Error;

const WINDOWS_ICON: &str = "assets/icon/classchat.ico";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={WINDOWS_ICON}");

    // CARGO_CFG_TARGET_OS is the *target* OS; `cfg!(windows)` would test the
    // host that runs this script, which is wrong when cross-compiling.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        embed_windows_resources()?;
    }
    Ok(())
}

fn embed_windows_resources() -> Result<(), Box<dyn Error>> {
    let mut res = winresource::WindowsResource::new();
    res.set_icon(WINDOWS_ICON)
        .set("ProductName", "ClassChat")
        .set("FileDescription", "ClassChat")
        .set("InternalName", "classchat")
        .set("OriginalFilename", "classchat.exe");
    res.compile()?;
    Ok(())
}
