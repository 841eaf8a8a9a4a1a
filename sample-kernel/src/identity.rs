//! The guest OS identity both demos report (TLFS 2.6.2): open source, OS type 0, OS id 0,
//! this crate's version.

use hv_defs::guest_id::HvGuestOsType;

/// The open-source OS type the kernel reports (TLFS 2.6.2): 0, which Microsoft has not
/// allocated to any OS (TLFS 2.6.2.1 lists 1–4), so the kernel never impersonates Linux,
/// FreeBSD, Xen or Illumos. The OS id (distribution) is 0 too.
pub(crate) const OS_TYPE: HvGuestOsType = HvGuestOsType::new(0);

/// The version the kernel reports in the identity's version field (bits 47:16): the
/// crate version as `major << 16 | minor << 8 | patch`, the encoding Linux uses for its
/// kernel version there.
pub(crate) const OS_VERSION: u32 = {
    let major = parse(env!("CARGO_PKG_VERSION_MAJOR"));
    let minor = parse(env!("CARGO_PKG_VERSION_MINOR"));
    let patch = parse(env!("CARGO_PKG_VERSION_PATCH"));
    major << 16 | minor << 8 | patch
};

/// A decimal number at compile time.
const fn parse(digits: &str) -> u32 {
    let bytes = digits.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < bytes.len() {
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}
