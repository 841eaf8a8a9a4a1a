//! Does this machine's KVM emulate Hyper-V? Asked with `KVM_CHECK_EXTENSION` on /dev/kvm.

/// The KVM capabilities the default `--hv-flags` list needs, with their numbers from
/// `linux/kvm.h`.
pub(crate) const HYPERV_CAPS: [(&str, u32); 6] = [
    ("KVM_CAP_HYPERV", 44),
    ("KVM_CAP_HYPERV_TIME", 96),
    ("KVM_CAP_HYPERV_SYNIC", 123),
    ("KVM_CAP_HYPERV_VP_INDEX", 149),
    ("KVM_CAP_HYPERV_TLBFLUSH", 155),
    ("KVM_CAP_HYPERV_SEND_IPI", 161),
];

/// `Ok(description)` when /dev/kvm exists and reports every capability of
/// [`HYPERV_CAPS`]; otherwise `Err(reason)`.
#[cfg(target_os = "linux")]
pub(crate) fn probe_hyperv() -> Result<String, String> {
    use std::os::fd::AsRawFd;

    /// `_IO(KVMIO, 0x03)`.
    const KVM_CHECK_EXTENSION: libc::c_ulong = 0xae03;

    let path = "/dev/kvm";
    if !std::path::Path::new(path).exists() {
        return Err(format!("{path} does not exist"));
    }
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open {path}: {e}"))?;
    let mut missing = Vec::new();
    for (name, cap) in HYPERV_CAPS {
        // SAFETY: KVM_CHECK_EXTENSION takes an integer argument and only returns a value;
        // the descriptor is an open /dev/kvm that outlives the call.
        let value = unsafe {
            libc::ioctl(
                kvm.as_raw_fd(),
                KVM_CHECK_EXTENSION as _,
                libc::c_ulong::from(cap),
            )
        };
        if value <= 0 {
            missing.push(format!("{name} = {value}"));
        }
    }
    if missing.is_empty() {
        Ok(format!(
            "{path} reports Hyper-V emulation ({})",
            HYPERV_CAPS.map(|(n, _)| n).join(", ")
        ))
    } else {
        Err(format!(
            "{path} reports no Hyper-V emulation ({})",
            missing.join(", ")
        ))
    }
}

/// KVM exists only on Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn probe_hyperv() -> Result<String, String> {
    Err("KVM exists only on Linux".into())
}
