//! The UEFI entry: `efi_main`, the EFI application's entry point (`x86_64-unknown-uefi`,
//! `aarch64-unknown-uefi`).
//!
//! What it does, in order ("UEFI entry" in `docs/architecture.md`):
//!
//! 1. Records the image handle and system table for the `uefi` crate.
//! 2. Reads what it needs from the firmware while boot services run: the firmware vendor
//!    and revisions, where the image was loaded (`EFI_LOADED_IMAGE_PROTOCOL`), the ACPI
//!    root pointer (the configuration table's ACPI 2.0 entry, else the ACPI 1.0 one), the
//!    SPCR, from which the architecture chooses the console UART, and on arm64 the MADT,
//!    FADT and GTDT (the GIC, the PSCI conduit and the timer interrupt).
//! 3. Prints those facts on the firmware console (`ConOut`: the screen, or a serial
//!    terminal in firmware set up that way, as OVMF is under QEMU `-nodefaults`). This is
//!    the only output before ExitBootServices, and the only place an error that stops the
//!    boot before it can be shown: the image lying outside the memory the runtime's
//!    identity map covers with normal memory (`EFI_LOAD_ERROR` returned to the firmware),
//!    or a processor state the runtime cannot take over (`EFI_UNSUPPORTED`).
//! 4. Calls ExitBootServices (the `uefi` crate fetches the final memory map and retries
//!    once if the map changed, as the UEFI specification asks; if that fails too it resets
//!    the machine), disables interrupts, sorts the memory map and converts it
//!    ([`crate::efi::boot_info`]).
//! 5. Switches to the runtime's stack and continues like the other entries: its own page
//!    tables and exception handling (x86_64: GDT and IDT; aarch64: vector table, after
//!    leaving the firmware's MMU set-up), the console on the chosen UART, the page
//!    allocator on the UEFI map minus the image, then the kernel's main function.
//!
//! The architecture-specific parts (console choice, ACPI platform, the image's address
//! range, the hand-over) are `crate::arch::<arch>::uefi`; everything here serves both.

use core::fmt::{self, Write};

use uefi::boot;
use uefi::mem::memory_map::{MemoryMap, MemoryMapMut};
use uefi::proto::loaded_image::LoadedImage;
use uefi::table::cfg::ConfigTableEntry;
use uefi::{CStr16, Handle, Status, system};

use crate::acpi::Spcr;
#[cfg(target_arch = "aarch64")]
use crate::arch::aarch64::uefi as arch;
#[cfg(target_arch = "x86_64")]
use crate::arch::x86_64::uefi as arch;
use crate::bootinfo::{BootInfo, BootInfoError};
use crate::efi::{EfiDescriptor, EfiMemoryType};
use crate::sync::StaticCell;
use crate::uart::SpcrLookup;

/// What the UEFI entry hands to the runtime after ExitBootServices.
pub(crate) struct UefiBoot {
    /// The boot information from the UEFI memory map, or why it could not be built (the
    /// runtime reports it once the console works).
    pub(crate) boot: Result<BootInfo, BootInfoError>,
    /// The loaded image: first byte and one past the last.
    pub(crate) image: (u64, u64),
    /// The console UART.
    pub(crate) console: arch::Console,
    /// What the ACPI tables say about the GIC, the PSCI conduit and the timer (arm64).
    #[cfg(target_arch = "aarch64")]
    pub(crate) platform: arch::Platform,
    /// Who the firmware is.
    pub(crate) firmware: Firmware,
}

static UEFI_BOOT: StaticCell<UefiBoot> = StaticCell::new();

/// At most this many characters of the firmware vendor string are kept.
const VENDOR_MAX: usize = 32;

/// The firmware's identity, as the boot line prints it.
#[derive(Clone, Copy)]
pub(crate) struct Firmware {
    vendor: [u8; VENDOR_MAX],
    vendor_len: usize,
    revision: u32,
    uefi: uefi::table::Revision,
    image: (u64, u64),
    rsdp: Option<u64>,
}

impl Firmware {
    fn read(image: (u64, u64), rsdp: Option<u64>) -> Self {
        let mut vendor = [0_u8; VENDOR_MAX];
        let mut vendor_len = 0;
        for c in system::firmware_vendor().iter().take(VENDOR_MAX) {
            let c = u16::from(*c);
            vendor[vendor_len] = match u8::try_from(c) {
                Ok(b) if b.is_ascii_graphic() || b == b' ' => b,
                _ => b'?',
            };
            vendor_len += 1;
        }
        Self {
            vendor,
            vendor_len,
            revision: system::firmware_revision(),
            uefi: system::uefi_revision(),
            image,
            rsdp,
        }
    }
}

impl fmt::Display for Firmware {
    /// `firmware "EDK II" revision 0x10000, UEFI 2.7, image at 0x..., 412 KiB, ACPI RSDP
    /// at 0x...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "firmware \"{}\" revision {:#x}, UEFI {}, image at {:#x}, {} KiB, ",
            self.vendor[..self.vendor_len].escape_ascii(),
            self.revision,
            self.uefi,
            self.image.0,
            (self.image.1 - self.image.0) >> 10,
        )?;
        match self.rsdp {
            Some(rsdp) => write!(f, "ACPI RSDP at {rsdp:#x}"),
            None => f.write_str("no ACPI RSDP"),
        }
    }
}

/// The firmware console (`ConOut`), while boot services run.
struct FirmwareConsole;

impl FirmwareConsole {
    /// Whether the system table has a console output protocol (it may not, on a headless
    /// machine).
    fn present() -> bool {
        uefi::table::system_table_raw().is_some_and(|st| {
            // SAFETY: the firmware's system table stays valid while boot services run,
            // which is the only time this is called.
            let st = unsafe { st.as_ref() };
            !st.boot_services.is_null() && !st.stdout.is_null()
        })
    }

    fn flush(buf: &mut [u16], len: &mut usize) -> fmt::Result {
        buf[*len] = 0;
        let text = CStr16::from_u16_with_nul(&buf[..=*len]).map_err(|_| fmt::Error)?;
        *len = 0;
        if !Self::present() {
            return Ok(());
        }
        system::with_stdout(|out| out.output_string(text)).map_err(|_| fmt::Error)
    }
}

impl Write for FirmwareConsole {
    /// Writes `s` as UCS-2, `\n` as `\r\n`; characters UCS-2 cannot hold become `?`.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut buf = [0_u16; 64];
        let mut len = 0;
        for c in s.chars() {
            if c == '\n' {
                buf[len] = u16::from(b'\r');
                len += 1;
            }
            buf[len] = match u16::try_from(u32::from(c)) {
                Ok(0) | Err(_) => u16::from(b'?'),
                Ok(unit) if (0xd800..0xe000).contains(&unit) => u16::from(b'?'),
                Ok(unit) => unit,
            };
            len += 1;
            if len >= buf.len() - 2 {
                Self::flush(&mut buf, &mut len)?;
            }
        }
        Self::flush(&mut buf, &mut len)
    }
}

/// Prints a line on the firmware console; output that cannot be shown is dropped (there
/// is nowhere else to say so).
fn firmware_line(args: fmt::Arguments<'_>) {
    let _ = FirmwareConsole.write_fmt(format_args!("[efi] {args}\n"));
}

/// The entry point the firmware calls (the UEFI targets' linker entry symbol).
#[unsafe(export_name = "efi_main")]
extern "efiapi" fn efi_main(image: Handle, system_table: *const core::ffi::c_void) -> Status {
    // SAFETY: the firmware passes this image's handle and its valid system table, which
    // is what the `uefi` crate's globals must hold; nothing else set them before.
    unsafe {
        boot::set_image_handle(image);
    }
    // SAFETY: as above.
    unsafe {
        uefi::table::set_system_table(system_table.cast());
    }
    match prepare() {
        Ok(ready) => leave_firmware(ready),
        Err(status) => status,
    }
}

/// What [`prepare`] found, for [`leave_firmware`].
struct Ready {
    image: (u64, u64),
    rsdp: Option<u64>,
    console: arch::Console,
    #[cfg(target_arch = "aarch64")]
    platform: arch::Platform,
    firmware: Firmware,
}

/// Everything done while boot services run.
fn prepare() -> Result<Ready, Status> {
    let image = loaded_image().map_err(|e| {
        firmware_line(format_args!(
            "FAILED: the loaded image protocol is unavailable ({:?})",
            e.status()
        ));
        e.status()
    })?;
    let rsdp = system::with_config_table(|entries| {
        let find = |guid| entries.iter().find(|e| e.guid == guid);
        find(ConfigTableEntry::ACPI2_GUID)
            .or_else(|| find(ConfigTableEntry::ACPI_GUID))
            .map(|e| e.address.addr() as u64)
    });
    let firmware = Firmware::read(image, rsdp);
    firmware_line(format_args!("kernel-rt: UEFI entry ({firmware})"));
    let (low, high) = arch::IMAGE_RANGE;
    if image.0 < low || image.1 > high {
        firmware_line(format_args!(
            "FAILED: the image lies at {:#x}-{:#x}, outside {low:#x}-{high:#x}, the memory \
             the runtime's identity map covers with normal memory; not exiting boot services",
            image.0, image.1,
        ));
        return Err(Status::LOAD_ERROR);
    }
    if let Some(why) = arch::unsupported_processor_state() {
        firmware_line(format_args!("FAILED: {why}; not exiting boot services"));
        return Err(Status::UNSUPPORTED);
    }
    let lookup = match rsdp {
        None => SpcrLookup::NoAcpi,
        Some(rsdp) => match Spcr::find(&arch::FirmwareMemory, rsdp) {
            Ok(Some(spcr)) => SpcrLookup::Found(spcr),
            Ok(None) => SpcrLookup::Absent,
            Err(e) => SpcrLookup::Broken(e),
        },
    };
    let (console, answers) = arch::choose_console(lookup);
    firmware_line(format_args!(
        "console: {console}; {}",
        if answers {
            "a UART answers there"
        } else {
            "WARNING: no UART answers there, the report will be lost"
        }
    ));
    #[cfg(target_arch = "aarch64")]
    let platform = arch::platform(rsdp);
    #[cfg(target_arch = "aarch64")]
    firmware_line(format_args!("{platform}"));
    firmware_line(format_args!(
        "exiting boot services; the report continues on that serial port"
    ));
    Ok(Ready {
        image,
        rsdp,
        console,
        #[cfg(target_arch = "aarch64")]
        platform,
        firmware,
    })
}

/// Where the firmware loaded this image: first byte and one past the last.
fn loaded_image() -> uefi::Result<(u64, u64)> {
    let loaded = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle())?;
    let (base, size) = loaded.info();
    let base = base.addr() as u64;
    Ok((base, base.saturating_add(size)))
}

/// Exits boot services and continues in the runtime.
fn leave_firmware(ready: Ready) -> ! {
    // SAFETY: nothing from boot services is used after this: the loaded image protocol was
    // closed in `loaded_image`, the configuration table and firmware strings were copied,
    // and no pool allocation is alive (the `uefi` crate's map buffer is loader data that
    // the runtime reads before reusing it).
    let mut map = unsafe { boot::exit_boot_services(None) };
    arch::disable_interrupts();
    map.sort();
    let descriptors = map.entries().map(|d| EfiDescriptor {
        ty: EfiMemoryType(d.ty.0),
        phys_start: d.phys_start,
        page_count: d.page_count,
        attribute: d.att.bits(),
    });
    let boot = crate::efi::boot_info(descriptors, ready.rsdp);
    let uefi = UEFI_BOOT
        .init(UefiBoot {
            boot,
            image: ready.image,
            console: ready.console,
            #[cfg(target_arch = "aarch64")]
            platform: ready.platform,
            firmware: ready.firmware,
        })
        .expect("the UEFI entry runs once");
    arch::enter(uefi)
}
