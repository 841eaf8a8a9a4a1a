//! Guest crash reporting (TLFS 4.3): the crash parameter MSRs P0–P4 and the control MSR.
//!
//! Reading `HV_X64_MSR_CRASH_CTL` reports the profile's capabilities (`CrashNotify`, and
//! `CrashMessage` where the host offers it). Writing it with `CrashNotify` records P0–P4 and
//! ends the run with [`Exit::Crash`](crate::Exit); with `CrashMessage` as well, and offered,
//! the model also reads the message: P4 bytes (at most 4096) at guest physical address P3.
//! Bits of the control value the host does not offer are ignored, as KVM ignores them.

use core::fmt;

use hv_defs::partition::{
    HV_GUEST_CRASH_MESSAGE_GPA_PARAMETER, HV_GUEST_CRASH_MESSAGE_LENGTH_PARAMETER,
    HV_GUEST_CRASH_MESSAGE_MAX_BYTES, HV_GUEST_CRASH_PARAMETER_COUNT, HvGuestCrashControl,
};

use crate::mem::GuestMemory;

/// A crash the guest reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashReport {
    /// `HV_X64_MSR_CRASH_P0`–`P4` at the notification.
    pub parameters: [u64; HV_GUEST_CRASH_PARAMETER_COUNT],
    /// The crash message, when the guest asked for the message form and the host offers
    /// it.
    pub message: Option<CrashMessage>,
}

/// The message form of a crash report (TLFS 4.3.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrashMessage {
    /// The P4 bytes read at P3.
    Text(Vec<u8>),
    /// P4 is above 4096 or the range is not RAM: nothing was read.
    Unreadable,
}

impl CrashReport {
    /// Records a notification: `control` is the value written to the control MSR,
    /// `offered` the capabilities the host reports.
    pub(crate) fn record(
        parameters: [u64; HV_GUEST_CRASH_PARAMETER_COUNT],
        control: HvGuestCrashControl,
        offered: HvGuestCrashControl,
        mem: &mut dyn GuestMemory,
    ) -> Self {
        let message = (control.crash_message() && offered.crash_message()).then(|| {
            let gpa = parameters[HV_GUEST_CRASH_MESSAGE_GPA_PARAMETER];
            let len = parameters[HV_GUEST_CRASH_MESSAGE_LENGTH_PARAMETER];
            if len > HV_GUEST_CRASH_MESSAGE_MAX_BYTES {
                return CrashMessage::Unreadable;
            }
            let mut text = vec![0u8; len as usize];
            if mem.read_phys(gpa, &mut text) {
                CrashMessage::Text(text)
            } else {
                CrashMessage::Unreadable
            }
        });
        Self {
            parameters,
            message,
        }
    }

    /// The message as text (lossy UTF-8), if one was read.
    #[must_use]
    pub fn text(&self) -> Option<String> {
        match &self.message {
            Some(CrashMessage::Text(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }
}

impl fmt::Display for CrashReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parameters.iter().enumerate() {
            write!(f, "{}P{i} {p:#x}", if i == 0 { "" } else { ", " })?;
        }
        match (&self.message, self.text()) {
            (_, Some(text)) => write!(f, "; message {text:?}"),
            (Some(CrashMessage::Unreadable), _) => f.write_str("; message unreadable"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::TestRam;

    #[test]
    fn the_message_form_reads_p4_bytes_at_p3_when_offered() {
        let mut ram = TestRam(vec![0; 0x2000]);
        ram.0[0x1000..0x1005].copy_from_slice(b"oops!");
        let params = [1, 2, 3, 0x1000, 4];
        let both = HvGuestCrashControl::NOTIFY_WITH_MESSAGE;
        let report = CrashReport::record(params, both, both, &mut ram);
        assert_eq!(report.text().as_deref(), Some("oops"));
        assert_eq!(
            report.to_string(),
            "P0 0x1, P1 0x2, P2 0x3, P3 0x1000, P4 0x4; message \"oops\""
        );
        let notify_only = HvGuestCrashControl::NOTIFY;
        let report = CrashReport::record(params, both, notify_only, &mut ram);
        assert_eq!(report.message, None, "not offered: not read");
        let report = CrashReport::record([0, 0, 0, 0x1000, 4097], both, both, &mut ram);
        assert_eq!(report.message, Some(CrashMessage::Unreadable));
        let report = CrashReport::record([0, 0, 0, 0x1F00, 0x200], both, both, &mut ram);
        assert_eq!(
            report.message,
            Some(CrashMessage::Unreadable),
            "outside RAM"
        );
    }
}
