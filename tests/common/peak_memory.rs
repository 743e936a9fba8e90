//! The largest resident set of a child process, read from /proc while it runs.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Runs `command` to its end, sampling its peak resident set (`VmHWM`, kB) every 5 ms.
/// Panics if the peak could never be read (the measurement would prove nothing).
pub fn run_measuring_peak(command: &mut Command) -> (Output, u64) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    while child.try_wait().expect("the child's status").is_none() {
        if let Some(kb) = std::fs::read_to_string(&status)
            .ok()
            .as_deref()
            .and_then(vm_hwm_kb)
        {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(peak_kb > 0, "VmHWM of {command:?} was never read");
    (child.wait_with_output().expect("the output"), peak_kb)
}

fn vm_hwm_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
