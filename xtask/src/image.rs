//! `cargo xtask image`: a disk that UEFI firmware boots the sample kernel from.
//!
//! The disk is 64 MiB of 512-byte sectors with a GUID partition table (UEFI 2.10, 5.3)
//! holding one EFI system partition, FAT32, whose `\EFI\BOOT\BOOTX64.EFI` (the removable
//! media boot path, UEFI 2.10, 3.5.1.1) is the sample kernel built for
//! `x86_64-unknown-uefi`, or for `--arch aarch64` whose `\EFI\BOOT\BOOTAA64.EFI` is the
//! sample kernel built for `aarch64-unknown-uefi`:
//!
//! | LBA | bytes | what |
//! | --- | --- | --- |
//! | 0 | 512 | protective MBR (UEFI 2.10, 5.2.3) |
//! | 1 | 512 | GPT header |
//! | 2-33 | 16 KiB | partition entry array: 128 entries of 128 bytes, the first the ESP |
//! | 34-2047 | | unused (the partition starts 1 MiB in, aligned for any sector size) |
//! | 2048-129023 | 62 MiB | EFI system partition, FAT32 with 512-byte clusters |
//! | 129024-131038 | | unused |
//! | 131039-131070 | 16 KiB | backup partition entry array |
//! | 131071 | 512 | backup GPT header |
//!
//! No root and no loop device: the protective MBR and both GPT copies (with their CRC32s)
//! are written here; the FAT file system is made in a file of its own by `mkfs.fat` and
//! filled by `mtools` (Debian packages dosfstools and mtools, which `ci/setup.sh`
//! installs), then copied into the partition. A VHDX is the raw disk converted by
//! `qemu-img convert -O vhdx` (dynamic with 1 MiB blocks, the block size Microsoft advises
//! for Linux guests, and 512-byte logical sectors), which Hyper-V attaches as it is.
//!
//! The GUIDs, the volume ID and the file times are fixed (`mkfs.fat --invariant`, and
//! `SOURCE_DATE_EPOCH` for mtools: 1980-01-01, the FAT epoch, unless the caller sets it),
//! so the same kernel gives the same disk, byte for byte.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, cargo};
use crate::kernel::{self, Profile};

/// The size of the disk.
pub(crate) const DISK_SIZE: u64 = 64 << 20;

/// The logical sector size the partition table is written for.
const SECTOR: u64 = 512;

/// Sectors on the disk.
const DISK_SECTORS: u64 = DISK_SIZE / SECTOR;

/// First sector of the EFI system partition (1 MiB).
const ESP_FIRST_LBA: u64 = 2048;

/// The size of the EFI system partition.
pub(crate) const ESP_SIZE: u64 = 62 << 20;

/// Last sector of the EFI system partition (inclusive, as GPT counts).
const ESP_LAST_LBA: u64 = ESP_FIRST_LBA + ESP_SIZE / SECTOR - 1;

/// Partition entries in each array, and the size of one (the minimum the UEFI
/// specification allows for the array: 16 KiB).
const ENTRY_COUNT: u32 = 128;
const ENTRY_SIZE: u32 = 128;

/// Sectors one partition entry array takes.
const ENTRY_ARRAY_SECTORS: u64 = (ENTRY_COUNT as u64 * ENTRY_SIZE as u64).div_ceil(SECTOR);

/// Size of the GPT header.
const HEADER_SIZE: u32 = 92;

/// The EFI system partition type (UEFI 2.10, table 5.7).
const ESP_TYPE: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

/// This disk's GUID (fixed; a version 4 value picked once).
const DISK_GUID: &str = "6F3D5E6A-3C1B-4E2B-9D1E-7A2B9C4D5E60";

/// The EFI system partition's unique GUID (fixed; a version 4 value picked once).
const ESP_GUID: &str = "0C6A1B2E-7D84-4F3A-8E52-1B9F3A6C7D21";

/// The file time mtools gives the ESP's files and directories unless `SOURCE_DATE_EPOCH`
/// says otherwise: 1980-01-01 00:00:00 UTC, the earliest time FAT can hold.
const FAT_EPOCH: &str = "315532800";

/// The partition's name in the GPT.
const ESP_NAME: &str = "EFI system partition";

/// The architectures a disk can be made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        match name {
            "x86_64" => Ok(Self::X86_64),
            "aarch64" | "arm64" => Ok(Self::Aarch64),
            other => Err(format!("unknown architecture `{other}` (x86_64, aarch64)")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
        }
    }

    /// The rustup target of the EFI application.
    pub(crate) fn uefi_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-uefi",
            Self::Aarch64 => "aarch64-unknown-uefi",
        }
    }

    /// The removable media boot path (UEFI 2.10, 3.5.1.1) in the ESP, as mtools names it.
    pub(crate) fn boot_file(self) -> &'static str {
        match self {
            Self::X86_64 => "::/EFI/BOOT/BOOTX64.EFI",
            Self::Aarch64 => "::/EFI/BOOT/BOOTAA64.EFI",
        }
    }
}

/// The disk formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// The sectors as they are.
    Raw,
    /// Hyper-V's virtual disk format.
    Vhdx,
}

impl Format {
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        match name {
            "raw" => Ok(Self::Raw),
            "vhdx" => Ok(Self::Vhdx),
            other => Err(format!("unknown disk format `{other}` (raw, vhdx)")),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Raw => "img",
            Self::Vhdx => "vhdx",
        }
    }
}

pub(crate) const USAGE: &str = "\
usage: cargo xtask image [--arch x86_64|aarch64] [--format raw|vhdx] [--out <path>] [--release]

  --arch      the kernel's architecture (default: x86_64); aarch64 puts the kernel at
              \\EFI\\BOOT\\BOOTAA64.EFI
  --format    raw disk or Hyper-V VHDX (default: raw)
  --out       where to write the disk (default: target/images/sample-kernel-<arch>-<profile>.<img|vhdx>)
  --release   put the release build of the kernel on it
";

/// Parsed `cargo xtask image` arguments.
#[derive(Debug)]
struct Args {
    arch: Arch,
    format: Format,
    out: Option<PathBuf>,
    profile: Profile,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        arch: Arch::X86_64,
        format: Format::Raw,
        out: None,
        profile: Profile::Debug,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("`{arg}` needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--arch" => parsed.arch = Arch::parse(&value()?)?,
            "--format" => parsed.format = Format::parse(&value()?)?,
            "--out" => parsed.out = Some(PathBuf::from(value()?)),
            "--release" => parsed.profile = Profile::Release,
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// `cargo xtask image`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let args = parse(args)?;
    let out = args
        .out
        .unwrap_or_else(|| default_path(args.arch, args.format, args.profile));
    let made = make(args.arch, args.format, args.profile, &out)?;
    let boot_file = args.arch.boot_file().trim_start_matches("::");
    println!(
        "xtask: wrote {} ({} disk, {} MiB virtual, {} bytes in the file; EFI system partition \
         {} MiB FAT32 holding {} bytes of {})",
        out.display(),
        match args.format {
            Format::Raw => "raw",
            Format::Vhdx => "VHDX",
        },
        DISK_SIZE >> 20,
        made.file_size,
        ESP_SIZE >> 20,
        made.efi_size,
        boot_file.replace('/', "\\"),
    );
    Ok(())
}

/// What [`make`] wrote.
#[derive(Debug)]
pub(crate) struct Made {
    /// The EFI application put on the disk.
    pub(crate) efi: PathBuf,
    /// Its size in bytes.
    pub(crate) efi_size: u64,
    /// The size of the disk file (a VHDX stores only what was written).
    pub(crate) file_size: u64,
}

/// Where `cargo xtask image` and `cargo xtask run --firmware uefi` put a disk by default.
pub(crate) fn default_path(arch: Arch, format: Format, profile: Profile) -> PathBuf {
    kernel::target_dir().join("images").join(format!(
        "sample-kernel-{}-{}.{}",
        arch.name(),
        profile.dir(),
        format.extension()
    ))
}

/// Where the EFI application is built.
pub(crate) fn efi_path(arch: Arch, profile: Profile) -> PathBuf {
    kernel::target_dir()
        .join(arch.uefi_target())
        .join(profile.dir())
        .join(format!("{}.efi", kernel::DEMO))
}

/// Builds the sample kernel as an EFI application.
pub(crate) fn build_efi(arch: Arch, profile: Profile) -> Result<PathBuf, String> {
    let mut command = cargo();
    command.args([
        "build",
        "-p",
        kernel::PACKAGE,
        "--bin",
        kernel::DEMO,
        "--target",
        arch.uefi_target(),
    ]);
    if profile == Profile::Release {
        command.arg("--release");
    }
    cmd::run(&mut command)?;
    Ok(efi_path(arch, profile))
}

/// What is missing to make a disk for `arch` (a VHDX with `vhdx`).
fn missing(arch: Arch, vhdx: bool) -> Vec<String> {
    let mut missing = Vec::new();
    let target = arch.uefi_target();
    if !kernel::has_target(target) {
        missing.push(format!(
            "the rustup target {target} (`rustup target add {target}`)"
        ));
    }
    let runs = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !runs("mkfs.fat", "--help") {
        missing.push("mkfs.fat (Debian package dosfstools)".into());
    }
    if !runs("mcopy", "--version") {
        missing.push("mcopy and mmd (Debian package mtools)".into());
    }
    if vhdx && !runs("qemu-img", "--version") {
        missing.push("qemu-img (Debian package qemu-utils)".into());
    }
    missing
}

/// Makes sure the tools for a disk are installed: runs `ci/setup.sh` when one is missing.
pub(crate) fn ensure_tools(arch: Arch, vhdx: bool) -> Result<(), String> {
    let before = missing(arch, vhdx);
    if before.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: missing {}; running ci/setup.sh",
        before.join(" and ")
    );
    let setup = cmd::setup();
    let after = missing(arch, vhdx);
    match (after.is_empty(), setup) {
        (true, _) => Ok(()),
        (false, Err(e)) => Err(format!(
            "missing {}; ci/setup.sh failed: {e}",
            after.join(" and ")
        )),
        (false, Ok(())) => Err(format!(
            "still missing after ci/setup.sh: {}",
            after.join(" and ")
        )),
    }
}

/// Builds the kernel and writes the disk to `out`.
pub(crate) fn make(
    arch: Arch,
    format: Format,
    profile: Profile,
    out: &Path,
) -> Result<Made, String> {
    ensure_tools(arch, format == Format::Vhdx)?;
    let efi = build_efi(arch, profile)?;
    let efi_size = fs::metadata(&efi)
        .map_err(|e| format!("{}: {e}", efi.display()))?
        .len();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let fat = with_suffix(out, ".esp");
    make_fat(&efi, arch.boot_file(), &fat)?;
    let raw = match format {
        Format::Raw => out.to_path_buf(),
        Format::Vhdx => with_suffix(out, ".raw"),
    };
    let written = write_disk(&raw, &fat);
    let _ = fs::remove_file(&fat);
    written?;
    if format == Format::Vhdx {
        let converted = cmd::run(Command::new("qemu-img").args([
            "convert".as_ref(),
            "-f".as_ref(),
            "raw".as_ref(),
            "-O".as_ref(),
            "vhdx".as_ref(),
            "-o".as_ref(),
            "subformat=dynamic,block_size=1M".as_ref(),
            raw.as_os_str(),
            out.as_os_str(),
        ]));
        let _ = fs::remove_file(&raw);
        converted?;
    }
    let file_size = fs::metadata(out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .len();
    Ok(Made {
        efi,
        efi_size,
        file_size,
    })
}

/// The disk checks of `cargo xtask test`, on the debug builds of both architectures:
///
/// * raw: `mcopy`, reading the FAT at the partition's offset, gets back exactly the EFI
///   application as `\EFI\BOOT\BOOTX64.EFI` (`BOOTAA64.EFI` for aarch64; the partition
///   table is checked by the unit tests and by the firmware booting the disks in the UEFI
///   boot tests);
/// * VHDX: `qemu-img info` reads the file as format `vhdx` with the raw disk's virtual
///   size, and `qemu-img compare` finds the same sectors as in the raw disk.
pub(crate) fn test() -> Result<(), String> {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        test_arch(arch)?;
    }
    Ok(())
}

/// The disk checks for one architecture.
fn test_arch(arch: Arch) -> Result<(), String> {
    let start = std::time::Instant::now();
    let raw = default_path(arch, Format::Raw, Profile::Debug);
    let made = make(arch, Format::Raw, Profile::Debug, &raw)?;
    let copy = with_suffix(&raw, ".boot-file");
    let _ = fs::remove_file(&copy);
    cmd::run(
        Command::new("mcopy")
            .arg("-i")
            .arg(format!("{}@@{}", raw.display(), ESP_FIRST_LBA * SECTOR))
            .arg(arch.boot_file())
            .arg(&copy),
    )?;
    let same = fs::read(&copy).ok() == fs::read(&made.efi).ok();
    let _ = fs::remove_file(&copy);
    if !same {
        return Err(format!(
            "{} in {} differs from {}",
            arch.boot_file(),
            raw.display(),
            made.efi.display()
        ));
    }

    let vhdx = default_path(arch, Format::Vhdx, Profile::Debug);
    let made_vhdx = make(arch, Format::Vhdx, Profile::Debug, &vhdx)?;
    let info = Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&vhdx)
        .output()
        .map_err(|e| format!("cannot start qemu-img: {e}"))?;
    if !info.status.success() {
        return Err(format!(
            "qemu-img info {} failed: {}",
            vhdx.display(),
            String::from_utf8_lossy(&info.stderr)
        ));
    }
    let (format, size) = vhdx_info(&info.stdout)?;
    if format != "vhdx" || size != DISK_SIZE {
        return Err(format!(
            "qemu-img info reads {} as format {format:?} of {size} bytes, expected \"vhdx\" of \
             {DISK_SIZE}",
            vhdx.display()
        ));
    }
    cmd::run(
        Command::new("qemu-img")
            .args(["compare", "-f", "raw", "-F", "vhdx"])
            .arg(&raw)
            .arg(&vhdx),
    )?;
    eprintln!(
        "xtask: disk images ok ({}) in {:.2} s: EFI application {} bytes, raw {} MiB ({} \
         bytes allocated), VHDX file {} bytes",
        arch.name(),
        start.elapsed().as_secs_f64(),
        made.efi_size,
        DISK_SIZE >> 20,
        allocated(&raw),
        made_vhdx.file_size
    );
    Ok(())
}

/// The top-level `format` and `virtual-size` of `qemu-img info --output=json`.
fn vhdx_info(json: &[u8]) -> Result<(String, u64), String> {
    let info: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("qemu-img info output: {e}"))?;
    let format = info["format"]
        .as_str()
        .ok_or("qemu-img info output has no format")?;
    let size = info["virtual-size"]
        .as_u64()
        .ok_or("qemu-img info output has no virtual-size")?;
    Ok((format.to_string(), size))
}

/// Bytes the file takes on disk (a sparse raw disk takes less than its size).
fn allocated(path: &Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).map_or(0, |m| m.blocks() * 512)
    }
    #[cfg(not(unix))]
    {
        fs::metadata(path).map_or(0, |m| m.len())
    }
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes the FAT32 file system of the ESP in the file `fat`, holding `efi` as
/// `boot_file`.
fn make_fat(efi: &Path, boot_file: &str, fat: &Path) -> Result<(), String> {
    if fat.exists() {
        fs::remove_file(fat).map_err(|e| format!("removing {}: {e}", fat.display()))?;
    }
    // -C: create the file; -F 32 -s 1 -S 512: FAT32, one 512-byte sector per cluster
    // (62 MiB gives ~125 000 clusters, above FAT32's minimum of 65 525); -h: the sectors
    // before the partition; --invariant: fixed volume ID and times.
    cmd::run(
        Command::new("mkfs.fat")
            .args(["-C", "-F", "32", "-s", "1", "-S", "512", "-n", "EFI-SYSTEM"])
            .args(["-h", &ESP_FIRST_LBA.to_string(), "--invariant"])
            .arg(fat)
            .arg((ESP_SIZE / 1024).to_string()),
    )?;
    let image = fat.as_os_str();
    let epoch = std::env::var("SOURCE_DATE_EPOCH").unwrap_or_else(|_| FAT_EPOCH.into());
    let mtools = |program: &str| {
        let mut command = Command::new(program);
        command
            .env("SOURCE_DATE_EPOCH", &epoch)
            .env("TZ", "UTC")
            .arg("-i")
            .arg(image);
        command
    };
    cmd::run(mtools("mmd").args(["::/EFI", "::/EFI/BOOT"]))?;
    cmd::run(mtools("mcopy").arg(efi).arg(boot_file))
}

/// Writes the raw disk `path`: partition tables from [`gpt_layout`] and the file system
/// `fat` in the ESP. Zero blocks of the file system are not written, so the file stays
/// sparse where the disk is empty.
fn write_disk(path: &Path, fat: &Path) -> Result<(), String> {
    let fat_bytes = fs::read(fat).map_err(|e| format!("reading {}: {e}", fat.display()))?;
    if fat_bytes.len() as u64 != ESP_SIZE {
        return Err(format!(
            "{} is {} bytes, not the partition's {ESP_SIZE}",
            fat.display(),
            fat_bytes.len()
        ));
    }
    let io = |e: std::io::Error| format!("writing {}: {e}", path.display());
    let mut file = File::create(path).map_err(io)?;
    file.set_len(DISK_SIZE).map_err(io)?;
    let mut pieces = gpt_layout();
    const BLOCK: usize = 4096;
    for (i, block) in fat_bytes.chunks(BLOCK).enumerate() {
        if block.iter().any(|&b| b != 0) {
            pieces.push((ESP_FIRST_LBA * SECTOR + (i * BLOCK) as u64, block.to_vec()));
        }
    }
    for (offset, bytes) in pieces {
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
    }
    file.sync_all().map_err(io)
}

/// The partition tables: `(byte offset, bytes)` for the protective MBR, the primary header
/// and entries, the backup entries and header.
fn gpt_layout() -> Vec<(u64, Vec<u8>)> {
    let last = DISK_SECTORS - 1;
    let backup_entries = last - ENTRY_ARRAY_SECTORS;
    let entries = partition_entries();
    let entries_crc = crc32(&entries);
    let primary = gpt_header(1, last, 2, entries_crc);
    let backup = gpt_header(last, 1, backup_entries, entries_crc);
    vec![
        (0, protective_mbr()),
        (SECTOR, primary),
        (2 * SECTOR, entries.clone()),
        (backup_entries * SECTOR, entries),
        (last * SECTOR, backup),
    ]
}

/// The protective MBR (UEFI 2.10, 5.2.3): one partition record of type 0xEE covering the
/// disk from LBA 1.
fn protective_mbr() -> Vec<u8> {
    let mut mbr = vec![0_u8; SECTOR as usize];
    let record = &mut mbr[446..462];
    record[0] = 0x00; // not bootable
    record[1..4].copy_from_slice(&[0x00, 0x02, 0x00]); // CHS of LBA 1
    record[4] = 0xee; // GPT protective
    record[5..8].copy_from_slice(&chs(DISK_SECTORS - 1));
    record[8..12].copy_from_slice(&1_u32.to_le_bytes());
    let size = u32::try_from(DISK_SECTORS - 1).unwrap_or(u32::MAX);
    record[12..16].copy_from_slice(&size.to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    mbr
}

/// The MBR's cylinder-head-sector encoding of `lba` for 255 heads and 63 sectors per
/// track, or 0xFFFFFF when it does not fit (UEFI 2.10, table 5.3).
fn chs(lba: u64) -> [u8; 3] {
    let (heads, sectors) = (255, 63);
    let cylinder = lba / (heads * sectors);
    if cylinder > 1023 {
        return [0xff; 3];
    }
    let head = (lba / sectors) % heads;
    let sector = lba % sectors + 1;
    [
        head as u8,
        (sector as u8) | (((cylinder >> 8) as u8) << 6),
        cylinder as u8,
    ]
}

/// A GPT header (UEFI 2.10, 5.3.2) in a sector of its own, at `my_lba`, with its twin at
/// `alternate_lba` and its entries at `entries_lba`.
fn gpt_header(my_lba: u64, alternate_lba: u64, entries_lba: u64, entries_crc: u32) -> Vec<u8> {
    let mut h = vec![0_u8; SECTOR as usize];
    h[0..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000_u32.to_le_bytes());
    h[12..16].copy_from_slice(&HEADER_SIZE.to_le_bytes());
    // 16..20: the header's CRC32, computed last; 20..24 reserved.
    h[24..32].copy_from_slice(&my_lba.to_le_bytes());
    h[32..40].copy_from_slice(&alternate_lba.to_le_bytes());
    let first_usable = 2 + ENTRY_ARRAY_SECTORS;
    let last_usable = DISK_SECTORS - 2 - ENTRY_ARRAY_SECTORS;
    h[40..48].copy_from_slice(&first_usable.to_le_bytes());
    h[48..56].copy_from_slice(&last_usable.to_le_bytes());
    h[56..72].copy_from_slice(&guid(DISK_GUID));
    h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
    h[80..84].copy_from_slice(&ENTRY_COUNT.to_le_bytes());
    h[84..88].copy_from_slice(&ENTRY_SIZE.to_le_bytes());
    h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
    let crc = crc32(&h[..HEADER_SIZE as usize]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The partition entry array (UEFI 2.10, 5.3.3): the ESP, then unused entries.
fn partition_entries() -> Vec<u8> {
    let mut entries = vec![0_u8; (ENTRY_COUNT * ENTRY_SIZE) as usize];
    let esp = &mut entries[..ENTRY_SIZE as usize];
    esp[0..16].copy_from_slice(&guid(ESP_TYPE));
    esp[16..32].copy_from_slice(&guid(ESP_GUID));
    esp[32..40].copy_from_slice(&ESP_FIRST_LBA.to_le_bytes());
    esp[40..48].copy_from_slice(&ESP_LAST_LBA.to_le_bytes());
    // 48..56: attributes, none.
    for (i, unit) in ESP_NAME.encode_utf16().enumerate() {
        esp[56 + 2 * i..58 + 2 * i].copy_from_slice(&unit.to_le_bytes());
    }
    entries
}

/// A GUID in its on-disk byte order (UEFI 2.10, appendix A): the first three fields
/// little-endian, the last two as written. `text` is the usual
/// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`.
///
/// # Panics
///
/// If `text` is not a GUID (the callers pass constants).
fn guid(text: &str) -> [u8; 16] {
    let hex: String = text.chars().filter(|&c| c != '-').collect();
    assert_eq!(hex.len(), 32, "a GUID has 32 hex digits: {text}");
    let byte = |i: usize| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex GUID");
    let mut out = [0_u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        let source = match i {
            0..=3 => 3 - i,
            4 | 5 => 9 - i,
            6 | 7 => 13 - i,
            _ => i,
        };
        *b = byte(source);
    }
    out
}

/// CRC-32 as GPT uses it (UEFI 2.10, 5.3.2: the IEEE 802.3 polynomial 0x04C11DB7,
/// reflected, initial value and final XOR 0xFFFFFFFF).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le_u32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
    }

    fn le_u64(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
    }

    /// The whole disk as `gpt_layout` writes it (without the file system).
    fn disk() -> Vec<u8> {
        let mut d = vec![0_u8; DISK_SIZE as usize];
        for (at, bytes) in gpt_layout() {
            d[at as usize..at as usize + bytes.len()].copy_from_slice(&bytes);
        }
        d
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn guids_are_mixed_endian() {
        assert_eq!(
            guid(ESP_TYPE),
            [
                0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e,
                0xc9, 0x3b
            ]
        );
    }

    #[test]
    fn chs_of_the_last_sector() {
        // 131071 = cylinder 8, head 40, sector 32 (255 x 63 geometry).
        assert_eq!(chs(DISK_SECTORS - 1), [40, 32, 8]);
        assert_eq!(chs(1), [0, 2, 0]);
        assert_eq!(chs(1024 * 255 * 63), [0xff; 3]);
    }

    #[test]
    fn protective_mbr_covers_the_disk() {
        let d = disk();
        assert_eq!(&d[510..512], &[0x55, 0xaa]);
        assert_eq!(d[446 + 4], 0xee);
        assert_eq!(le_u32(&d, 446 + 8), 1);
        assert_eq!(u64::from(le_u32(&d, 446 + 12)), DISK_SECTORS - 1);
        // The other three records are empty.
        assert!(d[462..510].iter().all(|&b| b == 0));
    }

    /// Checks one header as firmware does, returns its entries LBA.
    fn check_header(d: &[u8], lba: u64, alternate: u64) -> u64 {
        let h = &d[(lba * SECTOR) as usize..((lba + 1) * SECTOR) as usize];
        assert_eq!(&h[0..8], b"EFI PART");
        assert_eq!(le_u32(h, 8), 0x0001_0000);
        assert_eq!(le_u32(h, 12), 92);
        let mut copy = h[..92].to_vec();
        copy[16..20].fill(0);
        assert_eq!(crc32(&copy), le_u32(h, 16), "header CRC at LBA {lba}");
        assert_eq!(le_u64(h, 24), lba);
        assert_eq!(le_u64(h, 32), alternate);
        assert_eq!(le_u64(h, 40), 34);
        assert_eq!(le_u64(h, 48), DISK_SECTORS - 34);
        assert_eq!(le_u32(h, 80), 128);
        assert_eq!(le_u32(h, 84), 128);
        assert!(h[92..].iter().all(|&b| b == 0));
        let entries_lba = le_u64(h, 72);
        let at = (entries_lba * SECTOR) as usize;
        assert_eq!(crc32(&d[at..at + 128 * 128]), le_u32(h, 88));
        entries_lba
    }

    #[test]
    fn both_gpt_headers_and_arrays_check_out() {
        let d = disk();
        let last = DISK_SECTORS - 1;
        assert_eq!(check_header(&d, 1, last), 2);
        assert_eq!(check_header(&d, last, 1), last - 32);
        assert_eq!(
            &d[2 * 512..2 * 512 + 16384],
            &d[((last - 32) * 512) as usize..((last - 32) * 512) as usize + 16384]
        );
    }

    #[test]
    fn the_esp_entry_lies_in_the_usable_sectors() {
        let d = disk();
        let e = &d[1024..1024 + 128];
        assert_eq!(&e[0..16], &guid(ESP_TYPE));
        assert_eq!(&e[16..32], &guid(ESP_GUID));
        let (first, last) = (le_u64(e, 32), le_u64(e, 40));
        assert_eq!((first, last), (2048, 129_023));
        assert!(first >= 34 && last <= DISK_SECTORS - 34);
        assert_eq!((last - first + 1) * SECTOR, ESP_SIZE);
        let name: Vec<u16> = e[56..128]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        assert_eq!(String::from_utf16(&name).ok().as_deref(), Some(ESP_NAME));
        // Every other entry is unused (type GUID all zero).
        assert!(d[1024 + 128..1024 + 16384].iter().all(|&b| b == 0));
    }

    #[test]
    fn reads_the_top_level_format_of_qemu_img_info() {
        // Shaped like qemu-img 10's output: the protocol child has a format of its own.
        let json = br#"{
            "children": [{"name": "file", "info": {"format": "file", "virtual-size": 1}}],
            "virtual-size": 67108864, "filename": "d.vhdx", "format": "vhdx",
            "format-specific": {"type": "vhdx", "data": {}}
        }"#;
        assert_eq!(vhdx_info(json), Ok(("vhdx".to_string(), 67_108_864)));
        assert!(vhdx_info(b"{}").is_err());
        assert!(vhdx_info(b"not json").is_err());
    }

    #[test]
    fn arguments() {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let a = parse(&[]).expect("defaults");
        assert_eq!(
            (a.arch, a.format, a.profile),
            (Arch::X86_64, Format::Raw, Profile::Debug)
        );
        let a = parse(&s(&["--format", "vhdx", "--out", "d.vhdx", "--release"]))
            .expect("valid arguments");
        assert_eq!(a.format, Format::Vhdx);
        assert_eq!(a.out.as_deref(), Some(Path::new("d.vhdx")));
        assert_eq!(a.profile, Profile::Release);
        let a = parse(&s(&["--arch", "aarch64"])).expect("valid arguments");
        assert_eq!(a.arch, Arch::Aarch64);
        assert_eq!(a.arch.boot_file(), "::/EFI/BOOT/BOOTAA64.EFI");
        assert_eq!(a.arch.uefi_target(), "aarch64-unknown-uefi");
        assert_eq!(Arch::parse("arm64"), Ok(Arch::Aarch64));
        for bad in [
            &["--format", "qcow2"][..],
            &["--arch", "riscv64"],
            &["--out"],
            &["--frobnicate"],
        ] {
            assert!(parse(&s(bad)).is_err(), "{bad:?}");
        }
        assert!(
            default_path(Arch::X86_64, Format::Vhdx, Profile::Release)
                .ends_with("images/sample-kernel-x86_64-release.vhdx")
        );
        assert!(
            default_path(Arch::Aarch64, Format::Raw, Profile::Debug)
                .ends_with("images/sample-kernel-aarch64-debug.img")
        );
    }
}
