//! Booting the sample kernel through UEFI firmware under QEMU: `cargo xtask run
//! --firmware uefi` (`--arch aarch64` too) and the UEFI boots of `cargo xtask test`.
//!
//! The machine is the PVH boot's ([`qemu::machine_args`]: same memory, serial console,
//! `isa-debug-exit` and `-no-reboot`, so the same exit statuses and time limits apply),
//! plus OVMF as two pflash devices (the read-only code and a fresh copy of the variable
//! store, so boot entries an earlier run saved never change a run) and the disk of
//! [`crate::image`] as a read-only virtio disk. With no boot entries of its own OVMF
//! boots the disk's `\EFI\BOOT\BOOTX64.EFI`.
//!
//! arm64 ([`boot_aarch64`]): the arm64 `Image` boot's `virt` machine
//! ([`arm64::machine_args`]: GICv3, `-cpu max`, 128 MiB, semihosting under TCG, so the same
//! exit statuses), with AAVMF (Debian's `qemu-efi-aarch64`: 64 MiB code and variable
//! store, again a fresh copy of the store per run) and the same read-only virtio disk, from
//! which AAVMF boots `\EFI\BOOT\BOOTAA64.EFI`.
//!
//! OVMF prints on the same serial port before the kernel runs (screen control sequences,
//! `BdsDxe: loading Boot0001 ...`), which says nothing about the kernel and changes with
//! the firmware build. [`kernel_output`] cuts the serial output at the kernel's first line,
//! the UEFI entry's first `[efi] ` line, so a transcript holds exactly what the kernel
//! printed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::arm64;
use crate::cmd;
use crate::image::{self, Arch, Format};
use crate::kernel::Profile;
use crate::qemu::{self, Host, Machine, Run, Verdict};
use crate::transcript;

/// OVMF from Debian's `ovmf` package: code and variable store template, the 4 MiB build
/// first, then the 2 MiB one of older releases.
const OVMF_CANDIDATES: [(&str, &str); 2] = [
    (
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/share/OVMF/OVMF_VARS_4M.fd",
    ),
    (
        "/usr/share/OVMF/OVMF_CODE.fd",
        "/usr/share/OVMF/OVMF_VARS.fd",
    ),
];

/// AAVMF from Debian's `qemu-efi-aarch64`: code and variable store template.
const AAVMF_CANDIDATES: [(&str, &str); 1] = [(
    "/usr/share/AAVMF/AAVMF_CODE.fd",
    "/usr/share/AAVMF/AAVMF_VARS.fd",
)];

/// What the kernel prints first on a UEFI boot (the UEFI entry's firmware console lines).
pub(crate) const KERNEL_FIRST_LINE: &str = "[efi] ";

/// The firmware files of one UEFI boot.
#[derive(Clone, Debug)]
pub(crate) struct Ovmf {
    /// The firmware code (read-only pflash unit 0).
    pub(crate) code: PathBuf,
    /// The variable store template, copied for each run (pflash unit 1).
    pub(crate) vars_template: PathBuf,
}

impl Ovmf {
    /// The installed firmware for `arch`: OVMF for x86_64, AAVMF for aarch64.
    ///
    /// # Errors
    ///
    /// When none of the known paths exists.
    pub(crate) fn find(arch: Arch) -> Result<Self, String> {
        let (candidates, package): (&[(&str, &str)], _) = match arch {
            Arch::X86_64 => (&OVMF_CANDIDATES, "ovmf"),
            Arch::Aarch64 => (&AAVMF_CANDIDATES, "qemu-efi-aarch64"),
        };
        candidates
            .iter()
            .map(|&(code, vars)| (Path::new(code), Path::new(vars)))
            .find(|(code, vars)| code.is_file() && vars.is_file())
            .map(|(code, vars)| Self {
                code: code.to_path_buf(),
                vars_template: vars.to_path_buf(),
            })
            .ok_or_else(|| {
                let codes: Vec<_> = candidates.iter().map(|&(code, _)| code).collect();
                format!(
                    "no UEFI firmware at {} (Debian package {package}; `cargo xtask setup` \
                     installs it)",
                    codes.join(" or ")
                )
            })
    }

    /// Copies the variable store template next to `disk`, for one run.
    fn fresh_vars(&self, disk: &Path) -> Result<PathBuf, String> {
        let mut name = disk.as_os_str().to_owned();
        name.push(".vars.fd");
        let vars = PathBuf::from(name);
        fs::copy(&self.vars_template, &vars).map_err(|e| {
            format!(
                "copying {} to {}: {e}",
                self.vars_template.display(),
                vars.display()
            )
        })?;
        Ok(vars)
    }
}

/// Everything that decides the QEMU command line of a UEFI boot.
#[derive(Clone, Debug)]
pub(crate) struct UefiConfig {
    pub(crate) host: Host,
    pub(crate) machine: Machine,
    /// The `hv-*` flags for KVM (as in [`qemu::Config`]).
    pub(crate) hv_flags: Vec<String>,
    /// The firmware code.
    pub(crate) code: PathBuf,
    /// This run's variable store.
    pub(crate) vars: PathBuf,
    /// The raw disk.
    pub(crate) disk: PathBuf,
}

impl UefiConfig {
    /// The program and arguments. `program` is the QEMU executable's name.
    pub(crate) fn command_line(&self, program: &str) -> Vec<String> {
        let mut args = qemu::machine_args(program, self.host, self.machine, None, &self.hv_flags);
        let drive = |spec: &str, file: &Path| format!("{spec},file={}", file.display());
        args.extend([
            "-drive".into(),
            drive("if=pflash,format=raw,unit=0,readonly=on", &self.code),
            "-drive".into(),
            drive("if=pflash,format=raw,unit=1", &self.vars),
            "-drive".into(),
            drive("if=none,id=esp,format=raw,readonly=on", &self.disk),
            "-device".into(),
            "virtio-blk-pci,drive=esp".into(),
        ]);
        args
    }
}

/// The serial output from the kernel's first line on: what OVMF printed before is cut
/// off. Without that line (the kernel never ran) the whole output is returned, so a
/// transcript comparison shows what the firmware said.
pub(crate) fn kernel_output(serial: &str) -> &str {
    let at = serial
        .match_indices(KERNEL_FIRST_LINE)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || serial[..i].ends_with('\n'));
    at.map_or(serial, |i| &serial[i..])
}

/// Makes the raw disk for `profile` and boots it under `host` with OVMF, copying the
/// serial output to stdout when `stream` is set.
pub(crate) fn boot(
    host: Host,
    machine: Machine,
    hv_flags: Vec<String>,
    profile: Profile,
    stream: bool,
    limit: Duration,
) -> Result<Run, String> {
    let ovmf = Ovmf::find(Arch::X86_64)?;
    let disk = image::default_path(Arch::X86_64, Format::Raw, profile);
    image::make(Arch::X86_64, Format::Raw, profile, &disk)?;
    let config = UefiConfig {
        host,
        machine,
        hv_flags,
        code: ovmf.code.clone(),
        vars: ovmf.fresh_vars(&disk)?,
        disk,
    };
    qemu::run_command(&config.command_line(qemu::QEMU_X86_64), stream, limit)
}

/// The expected transcript of the UEFI boot under `tests/transcripts/`.
const TRANSCRIPT: &str = "x86_64-uefi-qemu-tcg.txt";

/// The expected transcript of the PVH boot, whose `[hv]` report the UEFI boot must repeat
/// line for line.
const PVH_TRANSCRIPT: &str = "x86_64-qemu-tcg.txt";

/// The UEFI boot of `cargo xtask test`: the debug disk under OVMF, QEMU TCG, q35. Checks
/// the success verdict, the transcript ([`TRANSCRIPT`]: the boot path's own `[efi]` and
/// `[rt]` lines are expected there), and that its `[hv]` lines are exactly the PVH
/// transcript's, the summary included.
pub(crate) fn test(bless: bool, limit: Duration) -> Result<(), String> {
    let run = boot(
        Host::QemuTcg,
        Machine::Q35,
        Vec::new(),
        Profile::Debug,
        false,
        limit,
    )?;
    check(
        &run,
        TRANSCRIPT,
        PVH_TRANSCRIPT,
        "sample-kernel (UEFI, OVMF, Debug, q35)",
        bless,
    )
}

/// Checks a UEFI boot: the success verdict, the transcript `expected` (from the kernel's
/// first line on), and that its `[hv]` lines are exactly those of the transcript `direct`
/// of the boot without firmware, the summary included.
fn check(run: &Run, expected: &str, direct: &str, name: &str, bless: bool) -> Result<(), String> {
    let output = kernel_output(&run.serial);
    let dir = cmd::root().join("tests/transcripts");
    let mut problems = Vec::new();
    if run.verdict != Verdict::Success {
        problems.push(format!(
            "verdict {} (expected {})\nserial output:\n{}",
            run.verdict,
            Verdict::Success,
            run.serial
        ));
    }
    if let Err(e) = transcript::check(&dir.join(expected), output, bless) {
        problems.push(e);
    }
    let direct_text =
        fs::read_to_string(dir.join(direct)).map_err(|e| format!("reading {direct}: {e}"))?;
    let report = |text: &str| -> String {
        text.lines()
            .filter(|l| l.starts_with("[hv] "))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let (uefi_report, direct_report) = (report(&transcript::mask(output)), report(&direct_text));
    if uefi_report.is_empty() || uefi_report != direct_report {
        problems.push(format!(
            "the [hv] report differs from the boot without firmware's ({direct}; - without, + \
             UEFI):\n{}",
            transcript::diff(&direct_report, &uefi_report)
        ));
    }
    let summary = run.summary_at.map_or_else(
        || "no summary line".into(),
        |t| format!("summary line after {:.2} s", t.as_secs_f64()),
    );
    if problems.is_empty() {
        eprintln!(
            "xtask: boot ok: {name} in {:.2} s, {summary}",
            run.elapsed.as_secs_f64()
        );
        Ok(())
    } else {
        Err(format!(
            "the UEFI boot {name} failed ({summary}):\n{}",
            problems.join("\n")
        ))
    }
}

/// The Windows command line of a UEFI boot under WHPX, run from the workspace root, with
/// the firmware QEMU for Windows installs (`share\edk2-x86_64-code.fd`, and a copy of
/// `share\edk2-i386-vars.fd` as `vars.fd`).
pub(crate) fn whpx_command_line(machine: Machine, profile: Profile) -> Vec<String> {
    let disk = image::default_path(Arch::X86_64, Format::Raw, profile);
    let config = UefiConfig {
        host: Host::QemuWhpx,
        machine,
        hv_flags: Vec::new(),
        code: PathBuf::from(r"C:\Program Files\qemu\share\edk2-x86_64-code.fd"),
        vars: PathBuf::from("vars.fd"),
        disk: qemu::windows_path(&cmd::root(), &disk).into(),
    };
    let mut argv = config.command_line("qemu-system-x86_64.exe");
    for arg in &mut argv {
        if arg.contains(' ') {
            *arg = format!("\"{arg}\"");
        }
    }
    argv
}

/// Everything that decides the QEMU command line of an arm64 UEFI boot.
#[derive(Clone, Debug)]
pub(crate) struct Aarch64UefiConfig {
    pub(crate) host: Host,
    /// Offer semihosting, through which the kernel reports its status; TCG only.
    pub(crate) semihosting: bool,
    /// The firmware code: a pflash image (`-drive if=pflash`, with `vars`), or for
    /// `bios` a file QEMU loads into the flash itself (`-bios`, no variable store).
    pub(crate) code: PathBuf,
    /// This run's variable store (unused with `bios`).
    pub(crate) vars: PathBuf,
    /// Pass the firmware with `-bios` (QEMU for Windows' `edk2-aarch64-code.fd`).
    pub(crate) bios: bool,
    /// The raw disk.
    pub(crate) disk: PathBuf,
}

impl Aarch64UefiConfig {
    /// The program and arguments. `program` is the QEMU executable's name.
    ///
    /// # Errors
    ///
    /// As [`arm64::machine_args`]: hosts without arm64 support, WHPX with semihosting.
    pub(crate) fn command_line(&self, program: &str) -> Result<Vec<String>, String> {
        let mut args = arm64::machine_args(program, self.host, false, self.semihosting)?;
        let drive = |spec: &str, file: &Path| format!("{spec},file={}", file.display());
        args.push("-no-reboot".into());
        if self.bios {
            args.extend(["-bios".into(), self.code.display().to_string()]);
        } else {
            args.extend([
                "-drive".into(),
                drive("if=pflash,format=raw,unit=0,readonly=on", &self.code),
                "-drive".into(),
                drive("if=pflash,format=raw,unit=1", &self.vars),
            ]);
        }
        args.extend([
            "-drive".into(),
            drive("if=none,id=esp,format=raw,readonly=on", &self.disk),
            "-device".into(),
            "virtio-blk-pci,drive=esp".into(),
        ]);
        Ok(args)
    }
}

/// Makes the arm64 raw disk for `profile` and boots it under QEMU TCG with AAVMF (with
/// semihosting), copying the serial output to stdout when `stream` is set.
pub(crate) fn boot_aarch64(profile: Profile, stream: bool, limit: Duration) -> Result<Run, String> {
    let aavmf = Ovmf::find(Arch::Aarch64)?;
    let disk = image::default_path(Arch::Aarch64, Format::Raw, profile);
    image::make(Arch::Aarch64, Format::Raw, profile, &disk)?;
    let config = Aarch64UefiConfig {
        host: Host::QemuTcg,
        semihosting: true,
        code: aavmf.code.clone(),
        vars: aavmf.fresh_vars(&disk)?,
        bios: false,
        disk,
    };
    qemu::run_command(&config.command_line(arm64::QEMU)?, stream, limit)
}

/// The expected transcript of the arm64 UEFI boot, and of the arm64 `Image` boot whose
/// `[hv]` report it must repeat.
const AARCH64_TRANSCRIPT: &str = "aarch64-uefi-qemu-tcg.txt";
const AARCH64_IMAGE_TRANSCRIPT: &str = "aarch64-qemu-tcg.txt";

/// The arm64 UEFI boot of `cargo xtask test`: the debug disk under AAVMF, QEMU TCG,
/// `virt`. Checks as [`test`] does, against [`AARCH64_TRANSCRIPT`] and the `Image` boot's
/// `[hv]` lines.
pub(crate) fn test_aarch64(bless: bool, limit: Duration) -> Result<(), String> {
    let run = boot_aarch64(Profile::Debug, false, limit)?;
    check(
        &run,
        AARCH64_TRANSCRIPT,
        AARCH64_IMAGE_TRANSCRIPT,
        "sample-kernel (UEFI, AAVMF, Debug, virt)",
        bless,
    )
}

/// The Windows command line of an arm64 UEFI boot under WHPX, run from the workspace root,
/// with the firmware QEMU for Windows installs (`share\edk2-aarch64-code.fd`, passed with
/// `-bios` as QEMU's documentation does for arm64 WHPX).
pub(crate) fn whpx_command_line_aarch64(profile: Profile) -> Result<Vec<String>, String> {
    let disk = image::default_path(Arch::Aarch64, Format::Raw, profile);
    let config = Aarch64UefiConfig {
        host: Host::QemuWhpx,
        semihosting: false,
        code: PathBuf::from(r"C:\Program Files\qemu\share\edk2-aarch64-code.fd"),
        vars: PathBuf::new(),
        bios: true,
        disk: qemu::windows_path(&cmd::root(), &disk).into(),
    };
    let mut argv = config.command_line("qemu-system-aarch64.exe")?;
    for arg in &mut argv {
        if arg.contains(' ') {
            *arg = format!("\"{arg}\"");
        }
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcg_command_line_adds_firmware_and_disk_to_the_machine() {
        let config = UefiConfig {
            host: Host::QemuTcg,
            machine: Machine::Q35,
            hv_flags: Vec::new(),
            code: "/c.fd".into(),
            vars: "/v.fd".into(),
            disk: "/d.img".into(),
        };
        assert_eq!(
            config.command_line("qemu").join(" "),
            "qemu -machine q35 -accel tcg -cpu max -m 128M -smp 1 -nodefaults -serial stdio \
             -display none -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
             -no-reboot -drive if=pflash,format=raw,unit=0,readonly=on,file=/c.fd \
             -drive if=pflash,format=raw,unit=1,file=/v.fd \
             -drive if=none,id=esp,format=raw,readonly=on,file=/d.img \
             -device virtio-blk-pci,drive=esp"
        );
    }

    #[test]
    fn whpx_command_line_quotes_the_firmware_path() {
        let argv = whpx_command_line(Machine::Q35, Profile::Release);
        assert_eq!(&argv[3..5], ["-accel", "whpx"]);
        assert!(!argv.iter().any(|a| a == "-cpu"));
        assert!(argv.contains(
            &"\"if=pflash,format=raw,unit=0,readonly=on,file=C:\\Program Files\\qemu\\share\\edk2-x86_64-code.fd\""
                .to_string()
        ));
        assert!(
            argv.iter()
                .any(|a| a.ends_with("images\\sample-kernel-x86_64-release.img"))
        );
    }

    #[test]
    fn aarch64_command_lines() {
        let config = Aarch64UefiConfig {
            host: Host::QemuTcg,
            semihosting: true,
            code: "/c.fd".into(),
            vars: "/v.fd".into(),
            bios: false,
            disk: "/d.img".into(),
        };
        assert_eq!(
            config.command_line("qemu").unwrap().join(" "),
            "qemu -machine virt,gic-version=3 -accel tcg -cpu max -m 128M -smp 1 -nodefaults \
             -serial stdio -display none -monitor none -semihosting-config \
             enable=on,target=native -no-reboot \
             -drive if=pflash,format=raw,unit=0,readonly=on,file=/c.fd \
             -drive if=pflash,format=raw,unit=1,file=/v.fd \
             -drive if=none,id=esp,format=raw,readonly=on,file=/d.img \
             -device virtio-blk-pci,drive=esp"
        );
        let whpx = whpx_command_line_aarch64(Profile::Release).unwrap();
        assert_eq!(
            &whpx[1..7],
            [
                "-machine",
                "virt,gic-version=3",
                "-accel",
                "whpx",
                "-cpu",
                "host"
            ]
        );
        assert!(
            !whpx
                .iter()
                .any(|a| a.contains("semihosting") || a.contains("pflash"))
        );
        let bios = whpx.iter().position(|a| a == "-bios").unwrap();
        assert_eq!(
            whpx[bios + 1],
            "\"C:\\Program Files\\qemu\\share\\edk2-aarch64-code.fd\""
        );
        assert!(
            whpx.iter()
                .any(|a| a.ends_with("images\\sample-kernel-aarch64-release.img"))
        );
        let kvm = Aarch64UefiConfig {
            host: Host::QemuKvm,
            ..config
        };
        assert!(kvm.command_line("qemu").is_err());
    }

    #[test]
    fn the_readme_has_the_whpx_lines_xtask_prints() {
        let readme = std::fs::read_to_string(cmd::root().join("README.md")).unwrap();
        for line in [
            whpx_command_line(Machine::Q35, Profile::Release).join(" "),
            whpx_command_line_aarch64(Profile::Release)
                .unwrap()
                .join(" "),
        ] {
            assert!(readme.lines().any(|l| l == line), "README lacks {line}");
        }
    }

    #[test]
    fn firmware_output_before_the_kernel_is_cut() {
        let serial = "\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001 \"x [efi] y\"\r\n\
                      BdsDxe: starting\r\n[efi] kernel-rt: UEFI entry\r\n[rt] boot\r\n";
        assert_eq!(
            kernel_output(serial),
            "[efi] kernel-rt: UEFI entry\r\n[rt] boot\r\n"
        );
        assert_eq!(kernel_output("[efi] a\n"), "[efi] a\n");
        assert_eq!(kernel_output("no kernel\n"), "no kernel\n");
    }
}
